"""Small helpers shared by test modules (imported directly, not through conftest)."""

from __future__ import annotations

import hashlib

import numpy as np


def hash_embedder(texts, dim: int = 64) -> np.ndarray:
    """A tiny deterministic bag-of-words embedder, unit length: fast tests of the estimator and training API."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % dim] += 1
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
