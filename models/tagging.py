"""Tag passages with the current model: files for `classify`, the store for the pipeline."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd

from policytrends.faults import checkpoint
from policytrends.models.encoder import MAX_CHARS, encode_cached, over_bound
from policytrends.models.registry import ModelVersion

log = logging.getLogger("policytrends.classify")
BATCH = 256  # passages per encode/store round trip: bounded memory, visible progress


def _progress(total: int, desc: str):
    """A tqdm bar on a terminal, periodic log lines otherwise (nightly runs log to files)."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="passage")
        return bar.update, bar.close
    state = {"done": 0, "next": 0.25}

    def update(n: int) -> None:
        state["done"] += n
        if total and state["done"] / total >= state["next"]:
            log.info("%s: %d/%d passages", desc, state["done"], total)
            state["next"] += 0.25

    return update, lambda: None


def warn_long(texts, where: str) -> int:
    """Say how many texts the model reads only the start of (models/encoder.py bounds them); returns the count."""
    n = over_bound(texts)
    if n:
        log.warning("%s: %d passage(s) longer than %s characters: the model reads only their first %s "
                    "(split long documents into passages to tag all of them)", where, n, f"{MAX_CHARS:,}", f"{MAX_CHARS:,}")
    return n


def tag_frame(df: pd.DataFrame, model: ModelVersion, embeddings: np.ndarray | None = None) -> pd.DataFrame:
    """``df`` plus ``p_<theme>`` columns and ``labels`` (themes at or above threshold, ';'-joined)."""
    clf = model.load()
    texts = df["text"].astype(str).tolist()
    warn_long(texts, "classify")
    if embeddings is None:
        update, close = _progress(len(texts), "classify")
        from policytrends.models.encoder import get_encoder

        embeddings = get_encoder().encode(texts, progress=update)
        close()
    proba = clf.predict_proba(texts, embeddings)
    out = df.copy()
    for j, theme in enumerate(clf.classes_):
        out[f"p_{theme}"] = np.round(proba[:, j], 4)
    hits = proba >= clf.thresholds_
    out["labels"] = [";".join(str(t) for t, h in zip(clf.classes_, row, strict=True) if h) for row in hits]
    return out


def classify_store(store, model: ModelVersion) -> dict[str, int]:
    """Classify every stored passage the model has not seen; returns counts.

    Predictions are keyed by passage text hash and model version, so rerunning is free and
    a passage repeated across documents is classified once.
    """
    todo = store.passages_without_predictions(model.version)
    if not todo:
        return {"passages_classified": 0}
    return {"passages_classified": classify_passages(store, model, todo, desc=f"classify with {model.version}")}


def classify_passages(store, model: ModelVersion, todo: list[tuple[str, str]], replace: bool = False,
                      desc: str | None = None) -> int:
    """Classify the given (text_hash, text) passages with ``model`` and store the predictions.

    ``replace`` overwrites predictions already stored for these passages and this version (a
    backfill); otherwise they are kept. Returns the number of passages classified.
    """
    if not todo:
        return 0
    clf = model.load()
    themes = [str(t) for t in clf.classes_]
    update, close = _progress(len(todo), desc or f"classify with {model.version}")
    for start in range(0, len(todo), BATCH):
        chunk = todo[start : start + BATCH]
        hashes = [h for h, _ in chunk]
        texts = [t for _, t in chunk]
        emb = encode_cached(texts, hashes, store, progress=update)
        checkpoint("classify.embedded")
        proba = clf.predict_proba(texts, emb)
        rows = [
            (h, theme, proba[i, j], proba[i, j] >= clf.thresholds_[j])
            for i, h in enumerate(hashes)
            for j, theme in enumerate(themes)
        ]
        store.save_predictions(model.version, rows, replace=replace)
        checkpoint("classify.batch")
    close()
    return len(todo)
