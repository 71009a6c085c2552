"""Train, evaluate and promote a model version; tag passages with the current one."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from models import labels as L
from models.baselines import KeywordMatcher, TfidfBaseline
from models.classifier import ThemeClassifier
from models.encoder import ENCODER_ID, MAX_TOKENS, get_encoder
from models.registry import HELDOUT_FILE, Registry, write_json_atomic
from policytrends.faults import checkpoint

log = logging.getLogger("policytrends.models")


def evaluate(clf: ThemeClassifier, df: pd.DataFrame, themes: list[str] | None = None) -> dict:
    """Per-theme precision, recall, F1 and support, and macro-F1, on labelled ``df``."""
    themes = themes or [str(t) for t in clf.classes_]
    Y = L.label_matrix(df, themes)
    pred_all = clf.predict(df["text"].tolist())
    index = {str(t): j for j, t in enumerate(clf.classes_)}
    pred = np.column_stack([pred_all[:, index[t]] if t in index else np.zeros(len(df), bool) for t in themes])
    p, r, f, s = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
    negatives = (Y == 0).sum(axis=0)
    false_pos = ((pred == 1) & (Y == 0)).sum(axis=0)
    # tpr (= recall) and fpr are what error-corrected prevalence estimates need.
    per = {t: {"precision": round(float(p[j]), 4), "recall": round(float(r[j]), 4), "f1": round(float(f[j]), 4),
               "support": int(s[j]), "tpr": round(float(r[j]), 4),
               "fpr": round(float(false_pos[j] / negatives[j]), 4) if negatives[j] else 0.0,
               "negatives": int(negatives[j])}
           for j, t in enumerate(themes)}
    return {"per_theme": per, "macro_f1": round(float(np.mean(f)), 4), "passages": len(df)}


def format_metrics(metrics: dict, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'theme':<18}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}")
    for t, m in metrics["per_theme"].items():
        lines.append(f"{t:<18}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>9d}")
    lines.append(f"{'macro-F1':<18}{'':>18}{metrics['macro_f1']:>8.3f}{metrics['passages']:>9d}")
    return "\n".join(lines)


def baseline_metrics(model, df: pd.DataFrame, themes: list[str] | None = None) -> dict:
    """The keyword matcher and TF-IDF + logistic regression, trained on the training split of
    ``model``'s own training labels, scored on ``df``: the model's numbers beside theirs."""
    info = model.info["training"]
    files = [Path(f) for f in info.get("files", [])]
    if not files or not all(f.exists() for f in files):
        raise L.LabelsError(f"the training labels of {model.version} ({info['file']}) are not on this machine: "
                            "the baselines are trained on them (pass a model trained here with --model)")
    train_df = L.split(L.read_label_files(files))[0]
    if L.data_hash(L.read_label_files(files)) != info["data_hash"]:
        raise L.LabelsError(f"{info['file']} changed since {model.version} was trained on it: the baselines would be "
                            "trained on other labels (retrain, or restore the file)")
    themes = themes or list(model.themes)
    Ytrain = pd.DataFrame(L.label_matrix(train_df, model.themes), columns=model.themes)
    return {"keyword": evaluate(KeywordMatcher().fit(Y=Ytrain), df, themes),
            "tfidf_logreg": evaluate(TfidfBaseline().fit(train_df["text"].tolist(), Ytrain), df, themes)}


def format_comparison(metrics: dict, baselines: dict) -> str:
    """F1 per theme of the model beside the baselines, on the same passages."""
    kw, tf = baselines["keyword"], baselines["tfidf_logreg"]
    lines = [f"{'F1':<18}{'this model':>12}{'keywords':>10}{'TF-IDF+LR':>11}"]
    for t, m in metrics["per_theme"].items():
        lines.append(f"{t:<18}{m['f1']:>12.3f}{kw['per_theme'][t]['f1']:>10.3f}{tf['per_theme'][t]['f1']:>11.3f}")
    lines.append(f"{'macro-F1':<18}{metrics['macro_f1']:>12.3f}{kw['macro_f1']:>10.3f}{tf['macro_f1']:>11.3f}")
    return "\n".join(lines)


@dataclass
class TrainResult:
    version: str
    metrics: dict
    previous: str | None
    previous_metrics: dict | None
    promoted: bool
    reason: str
    baselines: dict | None = None


def _model_card(version: str, info: dict) -> str:
    m = info["metrics"]["heldout"]
    rows = "\n".join(
        f"| {t} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
        for t, v in m["per_theme"].items()
    )
    base = info["metrics"].get("baselines") or {}
    kw, tf = base.get("keyword"), base.get("tfidf_logreg")
    comparison = "\n".join(
        f"| {t} | {v['f1']:.3f} | {kw['per_theme'][t]['f1']:.3f} | {tf['per_theme'][t]['f1']:.3f} |"
        for t, v in m["per_theme"].items()
    ) + f"\n| **macro-F1** | **{m['macro_f1']:.3f}** | {kw['macro_f1']:.3f} | {tf['macro_f1']:.3f} |" if kw and tf else ""
    return f"""# Theme classifier {version}

- Created: {info['created']}
- Encoder: {info['encoder']} (frozen), max {info['max_tokens']} word pieces
- Heads: {_heads_line(info)}
- Themes: {', '.join(info['themes'])}
- Training labels: {info['training']['file']} ({info['training']['train_passages']} passages for training, {info['training']['heldout_passages']} held out; data hash {info['training']['data_hash'][:12]})
- Thresholds (chosen on cross-validated training predictions): {', '.join(f'{t}={th:.3f}' for t, th in info['thresholds'].items())}

## Held-out metrics

| theme | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

Macro-F1: **{m['macro_f1']:.3f}** on {m['passages']} held-out passages.

## Against the baselines (F1 on the same held-out passages)

| theme | this model | keyword matcher | TF-IDF + logistic regression |
|---|---|---|---|
{comparison}

## Promotion

{info['promotion']['reason']}

## Intended use and limits

Tags paragraph-sized passages of English think-tank commentary on security policy. Trained on
passages written for this project, not sampled from real sites: expect lower accuracy on
real text until analysts' labels are added. Text longer than the encoder window
({info['max_tokens']} word pieces) is split into overlapping windows whose embeddings are averaged;
the TF-IDF head reads the whole text.
"""


def _heads_line(info: dict) -> str:
    weight = info.get("blend_weight", 1.0)
    if not info["params"]["lexical"] or weight >= 1.0:
        return "one logistic regression per theme over the sentence embedding"
    return (f"per theme, a logistic regression over the sentence embedding and one over TF-IDF word 1-2 grams, "
            f"probabilities blended {weight:.1f} : {1 - weight:.1f} (weight chosen on cross-validated training predictions)")


def train(labels_path, registry: Registry, force: bool = False, embedder=None, now: datetime | None = None,
          store=None) -> TrainResult:
    """Train a new version from one or more label files; promote it only if held-out macro-F1
    does not drop. A failed or rejected training leaves the current model untouched.

    With a corpus ``store``, label embeddings are cached there: retraining costs the heads' fit.
    """
    paths = [Path(p) for p in ([labels_path] if isinstance(labels_path, (str, Path)) else labels_path)]
    df = L.read_label_files(paths)
    labels_path = ", ".join(str(p) for p in paths)
    themes = L.themes_of(df)
    current = registry.current()
    if not themes:
        raise L.LabelsError(f"{labels_path}: no passage carries a theme (label some passages with themes)")
    train_df, held_df = L.split(df)
    L.check_positives(train_df, themes, f"{labels_path} (training split)")
    if held_df.empty:
        raise L.LabelsError(f"{labels_path}: too few passages to hold any out for evaluation (label more passages)")

    # The gate compares both models on trusted labels: the held-out set the current model was
    # validated on, plus this file's held-out passages it does not already contain. A file with
    # wrong labels cannot rewrite the yardstick it is measured with.
    eval_df = held_df
    if current is not None:
        reference = current.heldout()
        eval_df = pd.concat([reference, held_df[~held_df["text"].isin(set(reference["text"]))]], ignore_index=True)
    eval_themes = sorted(t for t in set(themes) | set(current.themes if current else [])
                         if eval_df["labels"].map(lambda x, t=t: t in x).any())

    embedder = embedder or _cached_embedder(store)
    log.info("training on %d passages (%d held out), themes: %s", len(train_df), len(held_df), ", ".join(themes))
    clf = ThemeClassifier(embedder=embedder).fit(train_df["text"].tolist(), pd.DataFrame(L.label_matrix(train_df, themes), columns=themes))
    metrics = evaluate(clf, eval_df, eval_themes)
    Ytrain = pd.DataFrame(L.label_matrix(train_df, themes), columns=themes)
    baselines = {
        "keyword": evaluate(KeywordMatcher().fit(Y=Ytrain), eval_df, eval_themes),
        "tfidf_logreg": evaluate(TfidfBaseline().fit(train_df["text"].tolist(), Ytrain), eval_df, eval_themes),
    }

    prev_metrics = None
    promoted, reason = True, "first model: promoted"
    if current is not None:
        prev_metrics = evaluate(current.load(embedder=embedder), eval_df, eval_themes)
        if metrics["macro_f1"] >= prev_metrics["macro_f1"]:
            reason = (f"promoted: held-out macro-F1 {metrics['macro_f1']:.3f} >= current {current.version} "
                      f"{prev_metrics['macro_f1']:.3f} on the same {len(eval_df)} passages")
        elif force:
            reason = (f"promoted with --force although held-out macro-F1 {metrics['macro_f1']:.3f} < current "
                      f"{current.version} {prev_metrics['macro_f1']:.3f}")
        else:
            promoted = False
            reason = (f"not promoted: held-out macro-F1 {metrics['macro_f1']:.3f} < current {current.version} "
                      f"{prev_metrics['macro_f1']:.3f} on the same {len(eval_df)} passages (use --force to override)")

    now = now or datetime.now(UTC)
    data_hash = L.data_hash(df)
    version = f"v{now.strftime('%Y%m%d-%H%M%S')}-{data_hash[:6]}"
    info = {
        "version": version,
        "created": now.isoformat(timespec="seconds"),
        "encoder": ENCODER_ID,
        "max_tokens": MAX_TOKENS,
        "themes": themes,
        "thresholds": {t: float(th) for t, th in zip(themes, clf.thresholds_, strict=True)},
        "blend_weight": float(clf.weight_),
        "cv_macro_f1": round(float(clf.cv_macro_f1_), 4),
        "params": {k: v for k, v in clf.get_params().items() if k != "embedder"},
        "training": {"file": str(labels_path), "files": [str(p.resolve()) for p in paths], "data_hash": data_hash, "train_passages": len(train_df),
                     "heldout_passages": len(held_df)},
        "metrics": {"heldout": metrics, "baselines": baselines},
        "promotion": {"promoted": promoted, "reason": reason, "compared_with": current.version if current else None,
                      "current_metrics": prev_metrics},
    }
    tmp = registry.root / f".{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    clf.save(tmp)
    eval_df.assign(labels=eval_df["labels"].map(list)).to_json(tmp / HELDOUT_FILE, orient="records", lines=True, force_ascii=False)
    write_json_atomic(tmp / "model.json", info)
    (tmp / "MODEL_CARD.md").write_text(_model_card(version, info), encoding="utf-8")
    checkpoint("train.saved")
    tmp.rename(registry.root / version)  # the version appears whole or not at all
    checkpoint("train.renamed")
    if promoted:
        registry.promote(version)
    return TrainResult(version, metrics, current.version if current else None, prev_metrics, promoted, reason, baselines)


# Label texts embedded in this process, by text: training and evaluation embed the same
# passages, and retraining on the same seed labels then costs only the head's fit.
_EMBEDDINGS: dict[str, np.ndarray] = {}


def _cached_embedder(store=None):
    """Embed label texts once: from this process's memory, then the store's embedding cache
    (keyed by text hash and encoder version, shared with the corpus), then the encoder."""

    def embed(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in _EMBEDDINGS]
        if missing:
            from models.tagging import _progress

            update, close = _progress(len(missing), "encode labelled passages")  # a bar on a terminal
            if store is not None:
                from corpus.segment import text_hash
                from models.encoder import encode_cached

                vectors = encode_cached(missing, [text_hash(t) for t in missing], store, progress=update)
            else:
                vectors = get_encoder().encode(missing, progress=update)
            close()
            _EMBEDDINGS.update(zip(missing, vectors, strict=True))
        return np.stack([_EMBEDDINGS[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    return embed


def load_info(folder: Path) -> dict:
    return json.loads((folder / "model.json").read_text(encoding="utf-8"))
