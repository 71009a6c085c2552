"""Small helpers shared by test modules (imported directly, not through conftest)."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

# The repository's root: the working directory of the tests' child processes, and where the
# files that are not installed (the settings example, deploy/, the source folders) are read.
REPO = Path(__file__).resolve().parents[1]


def hash_embedder(texts, dim: int = 64) -> np.ndarray:
    """A tiny deterministic bag-of-words embedder, unit length: fast tests of the estimator and training API."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % dim] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access-log lines."""

    def log_message(self, *args):
        pass


class LoopbackServer:
    """Serves a handler class on a free port of 127.0.0.1 from a daemon thread; ``base`` is its address."""

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
