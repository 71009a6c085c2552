"""The label queue: stored passages whose labels would help the model most.

Uncertainty first: a passage whose probability sits near a theme's threshold is one the
model cannot decide. Diversity second: among the uncertain ones, each pick must differ from
those already picked (maximal marginal relevance over the sentence embeddings), so the
analyst does not label ten copies of one wire story.

Output: a CSV (the ``labels`` column holds the model's guess; correct it) and a Label Studio
import file with the predictions attached, plus the Label Studio labelling config.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import sqlalchemy as sa

from policytrends.corpus.store import CorpusStore, documents, passages, predictions
from policytrends.errors import PolicyTrendsError
from policytrends.models.encoder import encode_cached
from policytrends.models.registry import ModelVersion

POOL_FACTOR = 10   # candidates considered per requested passage
RELEVANCE = 0.7    # weight of uncertainty against novelty in the greedy pick
NEAR_DUPLICATE = 0.95  # cosine similarity above which a passage counts as a copy of a pick

# `policytrends label-queue`: passages to label, for a spreadsheet and for Label Studio.
LABEL_QUEUE_CSV = "label_queue.csv"
LABEL_QUEUE_LABEL_STUDIO = "label_queue_labelstudio.json"
LABEL_STUDIO_CONFIG = "label_studio_config.xml"


def _frame(store: CorpusStore, model: ModelVersion) -> pd.DataFrame:
    stmt = (
        sa.select(passages.c.id.label("passage_id"), passages.c.text, passages.c.text_hash, documents.c.source,
                  documents.c.title, documents.c.canonical_url.label("url"), documents.c.published,
                  predictions.c.theme, predictions.c.probability)
        .select_from(passages.join(documents, passages.c.document_id == documents.c.id)
                     .join(predictions, predictions.c.text_hash == passages.c.text_hash))
        .where(predictions.c.model_version == model.version)
    )
    with store.engine.connect() as conn:
        long = pd.read_sql(stmt, conn)
    if long.empty:
        return long
    wide = long.pivot_table(index="passage_id", columns="theme", values="probability")
    meta = long.drop(columns=["theme", "probability"]).drop_duplicates("passage_id").set_index("passage_id")
    # One row per distinct text: the same passage in two documents is labelled once.
    return meta.join(wide).drop_duplicates("text_hash").reset_index()


def uncertainty(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """1 at a theme's threshold, 0 at certainty (0 or 1); the most uncertain theme counts."""
    scale = np.maximum(thresholds, 1 - thresholds)
    return (1 - np.abs(proba - thresholds) / scale).max(axis=1)


def select(scores: np.ndarray, vectors: np.ndarray, n: int) -> list[int]:
    """Greedy maximal-marginal-relevance pick of ``n`` rows: uncertain and unlike each other."""
    chosen: list[int] = []
    best_sim = np.full(len(scores), -1.0)
    available = np.ones(len(scores), dtype=bool)
    while len(chosen) < n and available.any():
        gain = np.where(available, RELEVANCE * scores - (1 - RELEVANCE) * np.maximum(best_sim, 0), -np.inf)
        i = int(np.argmax(gain))
        chosen.append(i)
        available[i] = False
        sim = vectors @ vectors[i]
        best_sim = np.maximum(best_sim, sim)
        available &= best_sim < NEAR_DUPLICATE
    return chosen


def build_queue(store: CorpusStore, model: ModelVersion, n: int) -> pd.DataFrame:
    if n < 1:
        raise PolicyTrendsError(f"-n must be at least 1, got {n}")
    df = _frame(store, model)
    if df.empty:
        raise PolicyTrendsError(f"no passages classified by {model.version} in the store (run `policytrends run` first)")
    clf = model.load()
    themes = [str(t) for t in clf.classes_]
    proba = df[themes].to_numpy(dtype=float)
    df["uncertainty"] = uncertainty(proba, clf.thresholds_)
    pool = df.nlargest(min(len(df), POOL_FACTOR * n), "uncertainty").reset_index(drop=True)
    vectors = encode_cached(pool["text"].tolist(), pool["text_hash"].tolist(), store)
    picked = pool.iloc[select(pool["uncertainty"].to_numpy(), vectors, n)].copy()
    guesses = picked[themes].to_numpy() >= clf.thresholds_
    picked["predicted_labels"] = [";".join(t for t, g in zip(themes, row, strict=True) if g) for row in guesses]
    picked["labels"] = picked["predicted_labels"]
    out = picked.rename(columns={t: f"p_{t}" for t in themes})
    out["uncertainty"] = out["uncertainty"].round(4)
    for t in themes:
        out[f"p_{t}"] = out[f"p_{t}"].round(4)
    out["model_version"] = model.version
    cols = ["passage_id", "text", "labels", "predicted_labels", "uncertainty", *[f"p_{t}" for t in themes],
            "source", "title", "url", "published", "model_version"]
    return out[cols].reset_index(drop=True)


def label_studio_tasks(queue: pd.DataFrame, themes: list[str]) -> list[dict]:
    """Label Studio import tasks, the model's guess attached as a prediction."""
    tasks = []
    for row in queue.itertuples(index=False):
        guess = [t for t in str(row.predicted_labels).split(";") if t]
        tasks.append({
            "data": {"text": row.text, "passage_id": int(row.passage_id), "source": row.source, "title": row.title,
                     "url": row.url, "published": None if pd.isna(row.published) else str(row.published),
                     "uncertainty": float(row.uncertainty)},
            "predictions": [{
                "model_version": row.model_version,
                # Label Studio's prediction score is the model's confidence: sorted ascending, the
                # passages the model is least sure of come first.
                "score": round(1.0 - float(row.uncertainty), 4),
                "result": [{"from_name": "themes", "to_name": "text", "type": "choices", "value": {"choices": guess}}],
            }],
        })
    return tasks


def label_studio_config(themes: list[str]) -> str:
    """The labelling interface: the passage and one checkbox per theme (none ticked = no theme)."""
    choices = "\n".join(f"    <Choice value={quoteattr(t)}/>" for t in themes)
    return f"""<View>
  <Text name="text" value="$text"/>
  <Header value="Themes discussed substantively (leave all unticked for none; see docs/codebook.md)"/>
  <Choices name="themes" toName="text" choice="multiple" showInline="true">
{choices}
  </Choices>
</View>
"""


def write_queue(store: CorpusStore, model: ModelVersion, n: int, csv_path: Path, ls_path: Path, config_path: Path) -> pd.DataFrame:

    from policytrends.files import write_csv_atomic, write_text_atomic

    queue = build_queue(store, model, n)
    tasks = json.dumps(label_studio_tasks(queue, model.themes), indent=1, ensure_ascii=False)
    # Each file whole or not at all: an analyst may have the previous queue open.
    write_csv_atomic(queue, csv_path)
    write_text_atomic(ls_path, tasks)
    write_text_atomic(config_path, label_studio_config(model.themes))
    return queue
