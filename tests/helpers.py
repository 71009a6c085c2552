"""Small helpers shared by test modules (imported directly, not through conftest)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

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


class FixtureSite(LoopbackServer):
    """A throwaway HTTP site on 127.0.0.1 for crawl tests.

    ``routes`` maps a path to ``(status, content_type, body)`` or ``(status, headers, body)``
    where headers is a dict; the mapping is live, so a test can change a page between crawls.
    Pages answer conditional requests: an ``ETag`` is sent and ``If-None-Match`` gets a 304.
    A path mapped to ``("sleep", seconds)`` stalls before answering.
    """

    def __init__(self, routes: dict):
        self.routes = routes
        self.hits: dict[str, int] = {}
        site = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                route = site.routes.get(self.path, (404, "text/html", b"<html><body>missing</body></html>"))
                if route[0] == "sleep":
                    time.sleep(route[1])
                    route = (200, "text/html", b"<html><body>too late</body></html>")
                status, headers, body = route
                headers = {"Content-Type": headers} if isinstance(headers, str) else dict(headers)
                etag = '"%08x"' % (hash(body) & 0xFFFFFFFF)
                if status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status == 200:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.serve(Handler)


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on (free when asked)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def documented_columns() -> dict[str, list[str]]:
    """outputs/README.md's column lists: each output file named in a section heading -> its columns, in order."""
    text = (REPO / "outputs" / "README.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    out = {}
    for section in sections:
        heading, _, body = section.partition("\n")
        columns = re.findall(r"^\| `([^`]+)` \|", body, flags=re.M)
        for name in re.findall(r"[\w.]+\.(?:csv|parquet|png|html)", heading):
            out[name] = columns
    return out


# A Label Studio task with one choice (tests/test_hostile_config.py and bench/reliability.py).
TASK = {"id": 7, "data": {"text": "Intruders planted malware in the regional power grid."},
        "annotations": [{"result": [{"value": {"choices": ["cyber"]}}]}]}


def label_studio_shapes(folder: Path) -> dict[str, Path]:
    """JSON files shaped as dicts: three Label Studio exports, and a dict of 1,510 numbers that is none."""
    shapes = {
        "tasks.json": {"tasks": [TASK]},
        "by-id.json": {"7": TASK, "8": {**TASK, "id": 8, "data": {"text": "Missile defence radars were moved east."}}},
        "one-task.json": TASK,
        "keyed-numbers.json": {f"passage-{i}": i for i in range(1510)},
    }
    for name, data in shapes.items():
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return {name: folder / name for name in shapes}


@contextmanager
def read_only_folder(path: Path):
    """A folder nobody may write in: permission bits, or for root (who ignores them) the immutable flag."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("running as root where the immutable flag cannot be set: no read-only folder to test with")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
