"""A synthetic corpus store of any size, for the trends benchmark.

Writes documents, passages and one model version's predictions straight into a SQLite file
with the schema of :mod:`corpus.store` (plain ``sqlite3`` bulk inserts: building 1,000,000
passages through the store's per-document API would take far longer than the benchmark).
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from policytrends.corpus.store import CorpusStore

THEMES = ["bmd", "counterterrorism", "cyber", "deterrence"]
MODEL_VERSION = "v-synthetic"
_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def make_store(path: Path, passages: int = 1_000_000, sources: int = 8, per_document: int = 10,
               start: date = date(2016, 1, 1), years: int = 10, undated: float = 0.01, seed: int = 7,
               model_version: str = MODEL_VERSION) -> str:
    """Create ``path`` holding ``passages`` classified passages; returns its SQLAlchemy URL."""
    path = Path(path)
    if path.exists():
        path.unlink()
    url = f"sqlite:///{path}"
    CorpusStore(url).engine.dispose()  # creates the tables with the store's own schema
    rng = np.random.default_rng(seed)
    n_docs = max(1, passages // per_document)
    doc_source = rng.integers(0, sources, n_docs)
    days = rng.integers(0, int(365.25 * years), n_docs)
    now = datetime.now(UTC).strftime(_STAMP)
    first = datetime(start.year + years, 1, 2, tzinfo=UTC).strftime(_STAMP)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    docs = []
    for i in range(n_docs):
        published = None if rng.random() < undated else (start + timedelta(days=int(days[i]))).isoformat()
        docs.append((i + 1, f"https://think{doc_source[i]}.example/a/{i}", f"https://think{doc_source[i]}.example/a/{i}",
                     f"think{doc_source[i]}", f"Synthetic article {i}, on policy", "[]", published, "", f"h{i}",
                     "text/html", "synthetic", 200, now, first, f"h{i}"))
    conn.executemany("INSERT INTO documents (id, canonical_url, url, source, title, authors, published, body, content_hash, "
                     "content_type, extraction_method, http_status, fetched_at, first_seen_at, segmented_hash) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", docs)
    # Themes have a different base rate per source, so the tables are not flat.
    base = rng.uniform(0.05, 0.35, size=(sources, len(THEMES)))
    doc_of = np.sort(rng.integers(0, n_docs, passages))
    truth = rng.random((passages, len(THEMES))) < base[doc_source[doc_of]]
    prob = np.where(truth, rng.beta(6, 2, truth.shape), rng.beta(1.5, 8, truth.shape)).astype(np.float32)
    starts = np.r_[0, np.flatnonzero(np.diff(doc_of)) + 1]
    lengths = np.diff(np.r_[starts, passages])
    position = np.arange(passages) - np.repeat(starts, lengths)

    hashes = []

    def rows():
        for i in range(passages):
            text = f"Synthetic passage {i} of document {doc_of[i] + 1}: deterrence, \"quotes\", commas and more."
            hashes.append(hashlib.sha256(text.encode()).hexdigest())
            yield (i + 1, int(doc_of[i]) + 1, int(position[i]), text, hashes[-1])

    conn.executemany("INSERT INTO passages (id, document_id, position, text, text_hash) VALUES (?,?,?,?,?)", rows())

    # One passage's themes together, as the classifier stores them.
    def preds():
        for i, h in enumerate(hashes):
            for j, theme in enumerate(THEMES):
                p = float(prob[i, j])
                yield (h, model_version, theme, p, p >= 0.5)

    conn.executemany("INSERT INTO predictions (text_hash, model_version, theme, probability, label) VALUES (?,?,?,?,?)",
                     preds())
    conn.commit()
    conn.close()
    return url


def model_info() -> dict:
    """Validated error rates of the synthetic classifier, as ``model.json`` records them."""
    per = {t: {"precision": 0.8, "recall": 0.9, "f1": 0.85, "support": 200, "tpr": 0.9, "fpr": 0.06, "negatives": 800}
           for t in THEMES}
    return {"version": MODEL_VERSION, "themes": THEMES, "metrics": {"heldout": {"per_theme": per}}}


def add_documents(url: str, passages: int = 10_000, per_document: int = 10, seed: int = 11,
                  model_version: str = MODEL_VERSION) -> None:
    """A night's crawl: ``passages`` new classified passages in new documents published today."""
    path = url.removeprefix("sqlite:///")
    rng = np.random.default_rng(seed)
    conn = sqlite3.connect(path)
    first_doc = conn.execute("SELECT coalesce(max(id), 0) FROM documents").fetchone()[0] + 1
    first_passage = conn.execute("SELECT coalesce(max(id), 0) FROM passages").fetchone()[0] + 1
    now = datetime.now(UTC)
    n_docs = max(1, passages // per_document)
    conn.executemany(
        "INSERT INTO documents (id, canonical_url, url, source, title, authors, published, body, content_hash, content_type, "
        "extraction_method, http_status, fetched_at, first_seen_at, segmented_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(d, f"https://think0.example/new/{d}", f"https://think0.example/new/{d}", "think0", f"New article {d}", "[]",
          now.date().isoformat(), "", f"h{d}", "text/html", "synthetic", 200, now.strftime(_STAMP), now.strftime(_STAMP),
          f"h{d}") for d in range(first_doc, first_doc + n_docs)])
    rows, preds = [], []
    for i in range(passages):
        pid = first_passage + i
        text = f"New synthetic passage {pid}"
        h = hashlib.sha256(text.encode()).hexdigest()
        rows.append((pid, first_doc + i % n_docs, i // n_docs, text, h))
        for theme, p in zip(THEMES, rng.random(len(THEMES)), strict=True):
            preds.append((h, model_version, theme, float(p), bool(p >= 0.5)))
    conn.executemany("INSERT INTO passages (id, document_id, position, text, text_hash) VALUES (?,?,?,?,?)", rows)
    conn.executemany("INSERT INTO predictions (text_hash, model_version, theme, probability, label) VALUES (?,?,?,?,?)", preds)
    conn.commit()
    conn.close()
