"""Train, evaluate and promote a model version; tag passages with the current one."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from policytrends.faults import checkpoint
from policytrends.files import write_json_atomic
from policytrends.models import labels as L
from policytrends.models.baselines import KeywordMatcher, TfidfBaseline
from policytrends.models.classifier import ThemeClassifier
from policytrends.models.encoder import ENCODER_ID, MAX_TOKENS, get_encoder, provenance
from policytrends.models.registry import HELDOUT_FILE, Registry

log = logging.getLogger("policytrends.models")

# An analyst's labels are real text of their own corpus; the seed labels are text written for the
# project. Together, the analyst's labels weigh ANALYST_SHARE of the seed labels' total weight
# (each at least 1): chosen on the real development set (bench/real_text.py, analyst loop).
ANALYST_SHARE = 0.5
# The promotion gate compares on analysts' held-out real text once it holds this many passages.
MIN_REAL_GATE = 20
# The embedding head's share of the blend, measured on real passages (bench/real_text.py).
# Cross-validation on the seed labels prefers the TF-IDF head (0.3-0.4): our own text rewards its
# surface words, while on real text the embedding-and-cues head generalises better. Choosing the
# weight on ~150 analyst labels instead was noisier than keeping this one.
BLEND_WEIGHT = 0.7


def new_classifier(embedder=None) -> ThemeClassifier:
    """The classifier `train` fits (and bench/real_text.py measures)."""
    return ThemeClassifier(weight=BLEND_WEIGHT, embedder=embedder)


def analyst_weight(seed_passages: int, analyst_passages: int, share: float = ANALYST_SHARE) -> float:
    """The weight of each analyst-labelled passage beside seed passages of weight 1.

    >>> analyst_weight(3000, 150)
    10.0
    """
    if analyst_passages <= 0 or seed_passages <= 0:
        return 1.0
    return max(1.0, share * seed_passages / analyst_passages)


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
    overridden: int = 0
    warnings: list[str] = field(default_factory=list)
    real_metrics: dict | None = None
    error_rates_from: str = L.SEED


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

{_real_text_section(info)}

- Created: {info['created']}
- Encoder: {info['encoder']} (frozen), max {info['max_tokens']} word pieces; weights sha256 {info['encoder_weights']['sha256']}
- Libraries: {', '.join(f'{k} {v}' for k, v in info['libraries'].items())}
- Heads: {_heads_line(info)}
- Themes: {', '.join(info['themes'])}
- Training labels: {info['training']['file']} ({info['training']['train_passages']} passages for training, {info['training']['heldout_passages']} held out; data hash {info['training']['data_hash'][:12]})
- Analyst labels: {info['training'].get('analyst_passages', 0)} passages of real text, each weighing {info['training'].get('analyst_weight', 1.0):.1f} seed passages; {info['training'].get('seed_labels_overridden', 0)} seed labels overridden
- Thresholds (chosen on cross-validated predictions of {info['training'].get('tuned_on', 'all labels')}): {', '.join(f'{t}={th:.3f}' for t, th in info['thresholds'].items())}
- Error rates for the trend tables' corrected prevalence: {info.get('error_rates', {}).get('description', 'held-out split')}

## Held-out metrics (seed split and analysts' held-out labels together)

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

Tags paragraph-sized passages of English think-tank commentary on security policy. The seed
labels are passages written for this project, not sampled from real sites: their held-out
split flatters every model, and the real-text figure at the top is the one to quote. An
analyst's labels of their own corpus move the model towards it. Text longer than the encoder window
({info['max_tokens']} word pieces) is split into overlapping windows whose embeddings are averaged;
the TF-IDF head reads the whole text.
"""


def real_text_record() -> dict | None:
    """What ``bench/real_text.py --record`` measured for the shipped seed labels, if it did."""
    if not L.REAL_TEXT_RECORD.exists():
        return None
    return json.loads(L.REAL_TEXT_RECORD.read_text(encoding="utf-8"))


def _real_text_section(info: dict) -> str:
    """The model card's headline: the figure on real text, beside the seed held-out figure."""
    seed_f1 = info["metrics"]["heldout"]["macro_f1"]
    real = info["metrics"].get("real_text")
    if real:
        per = ", ".join(f"{t} {v['f1']:.3f}" for t, v in real["per_theme"].items())
        return (f"**Real text: macro-F1 {real['macro_f1']:.3f}** on {real['passages']} held-out passages of analysts' labelled "
                f"real text ({per}); on all held-out labels, seed split included: {seed_f1:.3f}.")
    record = real_text_record()
    if record and record.get("data_hash") == info["training"]["data_hash"]:
        per = ", ".join(f"{t} {v:.3f}" for t, v in record["per_theme_f1"].items())
        return (f"**Real text: macro-F1 {record['macro_f1']:.3f}** on {record['passages']} real labelled passages of "
                f"{record['sites']} sites ({per}), measured on a model trained from these labels by `bench/real_text.py` "
                f"on {record['measured']}; the seed labels' own held-out split says {seed_f1:.3f}, which flatters it.")
    return (f"**Real text: not measured for these labels.** The seed held-out split says {seed_f1:.3f}, but it is text "
            "written for the project and flatters the model: score real labelled passages with "
            "`policytrends evaluate --labels FILE`.")


def _heads_line(info: dict) -> str:
    weight = info.get("blend_weight", 1.0)
    semantic = "the sentence embedding" + (" and the codebook cues" if info["params"].get("cues") else "")
    if not info["params"]["lexical"] or weight >= 1.0:
        return f"one logistic regression per theme over {semantic}"
    return (f"per theme, a logistic regression over {semantic} and one over TF-IDF word 1-2 grams, "
            f"probabilities blended {weight:.1f} : {1 - weight:.1f} (weight measured on real text, bench/real_text.py)")


def train(labels_path, registry: Registry, force: bool = False, embedder=None, now: datetime | None = None,
          store=None, new_themes=()) -> TrainResult:
    """Train a new version from one or more label files; promote it only if held-out macro-F1
    does not drop. A failed or rejected training leaves the current model untouched.

    Files outside ``models/seed/`` are an analyst's labels of real text: they weigh more
    (:func:`analyst_weight`), choose the blend and thresholds, give the error rates the trend
    tables correct with, and, once enough are held out, are the labels the promotion gate compares on.

    The taxonomy is the current model's themes (or the seed labels', for a first model): a theme
    outside it must be named in ``new_themes``, so a typo cannot become a fifth theme.

    With a corpus ``store``, label embeddings are cached there: retraining costs the heads' fit.
    """
    paths = [Path(p) for p in ([labels_path] if isinstance(labels_path, (str, Path)) else labels_path)]
    df, overridden = L.read_training_labels(paths)
    labels_path = ", ".join(str(p) for p in paths)
    themes = L.themes_of(df)
    current = registry.current()
    seed_rows = df[df["origin"] == L.SEED]
    known = current.themes if current else (L.themes_of(seed_rows) if len(seed_rows) else None)
    L.check_taxonomy(df, known, new_themes, labels_path)
    if not themes:
        raise L.LabelsError(f"{labels_path}: no passage carries a theme (label some passages with themes)")
    train_df, held_df = L.split(df)
    L.check_positives(train_df, themes, f"{labels_path} (training split)")
    if held_df.empty:
        raise L.LabelsError(f"{labels_path}: too few passages to hold any out for evaluation (label more passages)")
    analyst = df["origin"] == L.ANALYST
    warnings = _analyst_warnings(df[analyst], themes, overridden)
    for w in warnings:
        log.warning(w)

    # The gate compares both models on trusted labels: the held-out set the current model was
    # validated on, plus this file's held-out passages it does not already contain. A file with
    # wrong labels cannot rewrite the yardstick it is measured with. When enough of those are an
    # analyst's real text, the gate compares on them alone: the seed split is our own text, and a
    # model better on the analyst's corpus must not lose to one that is better on ours.
    eval_df = held_df
    if current is not None:
        reference = current.heldout()
        eval_df = pd.concat([reference, held_df[~held_df["text"].isin(set(reference["text"]))]], ignore_index=True)
    eval_df["origin"] = eval_df["origin"].fillna(L.SEED) if "origin" in eval_df else L.SEED
    real_df = eval_df[eval_df["origin"] == L.ANALYST].reset_index(drop=True)
    gate_df = real_df if len(real_df) >= MIN_REAL_GATE else eval_df
    eval_themes = sorted(t for t in set(themes) | set(current.themes if current else [])
                         if eval_df["labels"].map(lambda x, t=t: t in x).any())
    gate_themes = sorted(t for t in eval_themes if gate_df["labels"].map(lambda x, t=t: t in x).any()) or eval_themes

    embedder = embedder or _cached_embedder(store)
    is_analyst = (train_df["origin"] == L.ANALYST).to_numpy()
    weight = analyst_weight(int((~is_analyst).sum()), int(is_analyst.sum()))
    log.info("training on %d passages (%d held out; %d of them an analyst's, weight %.1f each), themes: %s",
             len(train_df), len(held_df), int(is_analyst.sum()), weight, ", ".join(themes))
    Ytrain = pd.DataFrame(L.label_matrix(train_df, themes), columns=themes)
    clf = new_classifier(embedder).fit(
        train_df["text"].tolist(), Ytrain, sample_weight=np.where(is_analyst, weight, 1.0), tune_on=is_analyst if is_analyst.any() else None)
    metrics = evaluate(clf, eval_df, eval_themes)
    real_metrics = evaluate(clf, real_df, eval_themes) if len(real_df) else None
    gate_metrics = real_metrics if gate_df is real_df else metrics
    baselines = {
        "keyword": evaluate(KeywordMatcher().fit(Y=Ytrain), eval_df, eval_themes),
        "tfidf_logreg": evaluate(TfidfBaseline().fit(train_df["text"].tolist(), Ytrain), eval_df, eval_themes),
    }
    rates = _error_rates(clf, train_df, held_df, themes, metrics, paths)

    prev_metrics = None
    promoted, reason = True, "first model: promoted"
    if current is not None:
        gate_name = f"{len(gate_df)} held-out passages" + (" of analysts' real text" if gate_df is real_df else "")
        new_f1 = evaluate(clf, gate_df, gate_themes)["macro_f1"]
        previous = current.load(embedder=embedder)
        prev_metrics = evaluate(previous, eval_df, eval_themes)
        prev_f1 = evaluate(previous, gate_df, gate_themes)["macro_f1"]
        if new_f1 >= prev_f1:
            reason = f"promoted: macro-F1 {new_f1:.3f} >= current {current.version} {prev_f1:.3f} on the same {gate_name}"
        elif force:
            reason = f"promoted with --force although macro-F1 {new_f1:.3f} < current {current.version} {prev_f1:.3f} on the same {gate_name}"
        else:
            promoted = False
            reason = (f"not promoted: macro-F1 {new_f1:.3f} < current {current.version} {prev_f1:.3f} on the same {gate_name} "
                      "(use --force to override)")

    now = now or datetime.now(UTC)
    data_hash = L.data_hash(df)
    version = f"v{now.strftime('%Y%m%d-%H%M%S')}-{data_hash[:6]}"
    info = {
        "version": version,
        "created": now.isoformat(timespec="seconds"),
        "encoder": ENCODER_ID,
        "max_tokens": MAX_TOKENS,
        **provenance(),  # encoder_weights (file, sha256) and libraries (versions): what the vectors and heads came from
        "themes": themes,
        "thresholds": {t: float(th) for t, th in zip(themes, clf.thresholds_, strict=True)},
        "blend_weight": float(clf.weight_),
        "cv_macro_f1": round(float(clf.cv_macro_f1_), 4),
        "params": {k: v for k, v in clf.get_params().items() if k != "embedder"},
        "training": {"file": str(labels_path), "files": [str(p.resolve()) for p in paths], "data_hash": data_hash, "train_passages": len(train_df),
                     "heldout_passages": len(held_df), "analyst_passages": int(analyst.sum()), "analyst_weight": round(weight, 3),
                     "seed_labels_overridden": overridden, "tuned_on": "analyst labels" if is_analyst.any() else "all labels"},
        "metrics": {"heldout": metrics, "real_text": real_metrics, "baselines": baselines, "gate": gate_metrics},
        "error_rates": rates,
        "warnings": warnings,
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
    return TrainResult(version, metrics, current.version if current else None, prev_metrics, promoted, reason, baselines,
                       overridden=overridden, warnings=warnings, real_metrics=real_metrics, error_rates_from=rates["source"])


def _analyst_warnings(analyst: pd.DataFrame, themes: list[str], overridden: int) -> list[str]:
    if analyst.empty:
        return []
    out = []
    if overridden:
        out.append(f"{overridden} seed label(s) overridden by the analyst's labels of the same passages")
    few = {t: int(analyst["labels"].map(lambda x, t=t: t in x).sum()) for t in themes}
    few = {t: n for t, n in few.items() if n < L.MIN_POSITIVES}
    if few:
        listed = ", ".join(f"{t} ({n})" for t, n in few.items())
        out.append(f"theme(s) with fewer than {L.MIN_POSITIVES} positive analyst labels: {listed}; their error rates on real "
                   "text are uncertain (label more real passages about them)")
    return out


def _error_rates(clf: ThemeClassifier, train_df: pd.DataFrame, held_df: pd.DataFrame, themes: list[str], heldout_metrics: dict,
                 paths: list[Path]) -> dict:
    """The recall and false-positive rate the trend tables correct prevalence with, and where they come from.

    From an analyst's labels of real text when there are any: every analyst passage scored by a
    model that did not train on it (out-of-fold predictions for the training split, the final
    model for the held-out split). Otherwise from the seed labels' held-out split, which
    overstates recall and understates false positives on real text.
    """
    is_analyst = (train_df["origin"] == L.ANALYST).to_numpy()
    held = held_df[held_df["origin"] == L.ANALYST]
    if not is_analyst.any() and held.empty:
        per = {t: {k: m[k] for k in ("tpr", "fpr", "support", "negatives")} for t, m in heldout_metrics["per_theme"].items()}
        return {"source": L.SEED, "description": "seed labels' held-out split (text written for the project)",
                "passages": heldout_metrics["passages"], "per_theme": per}
    proba = np.vstack([clf.oof_proba_[is_analyst], clf.predict_proba(held["text"].tolist()) if len(held) else np.zeros((0, len(themes)))])
    Y = np.vstack([L.label_matrix(train_df[is_analyst], themes), L.label_matrix(held, themes)])
    pred = proba >= clf.thresholds_
    per = {}
    for j, t in enumerate(themes):
        pos, neg = int(Y[:, j].sum()), int((1 - Y[:, j]).sum())
        per[t] = {"tpr": round(float((pred[:, j] & (Y[:, j] == 1)).sum() / pos), 4) if pos else 0.0,
                  "fpr": round(float((pred[:, j] & (Y[:, j] == 0)).sum() / neg), 4) if neg else 0.0,
                  "support": pos, "negatives": neg}
    files = ", ".join(p.name for p in paths if L.origin_of(p) == L.ANALYST)
    return {"source": L.ANALYST, "description": f"analyst labels of real text ({files}; each passage scored by a model that did not train on it)",
            "passages": len(Y), "per_theme": per}


# Label texts embedded in this process, by text: training and evaluation embed the same
# passages, and retraining on the same seed labels then costs only the head's fit.
_EMBEDDINGS: dict[str, np.ndarray] = {}


def _cached_embedder(store=None):
    """Embed label texts once: from this process's memory, then the store's embedding cache
    (keyed by text hash and encoder version, shared with the corpus), then the encoder."""

    def embed(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in _EMBEDDINGS]
        if missing:
            from policytrends.models.tagging import _progress

            update, close = _progress(len(missing), "encode labelled passages")  # a bar on a terminal
            if store is not None:
                from policytrends.corpus.hashing import text_hash
                from policytrends.models.encoder import encode_cached

                vectors = encode_cached(missing, [text_hash(t) for t in missing], store, progress=update)
            else:
                vectors = get_encoder().encode(missing, progress=update)
            close()
            _EMBEDDINGS.update(zip(missing, vectors, strict=True))
        return np.stack([_EMBEDDINGS[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    return embed
