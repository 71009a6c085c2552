"""The classifier on real text: candidates trained on the seed labels, scored on real labelled passages.

    .venv/bin/python bench/real_text.py                       # ../shared/benchmarks/realdev.jsonl
    .venv/bin/python bench/real_text.py --dev FILE --seed FILE --candidates shipped,keywords

The development set (real passages from think-tank, journal and news sites, labelled by the
codebook) is read where it lies and never copied into the repository; the models here train
only on the seed labels written for the project. Prints, per candidate, F1 per theme and
macro-F1 on the development set, beside the same candidate's macro-F1 on the seed labels'
held-out split (which flatters every model: the seed text is ours).

Then the analyst loop: the development set is cut in two halves by text hash; the shipped
model is trained on the seed labels plus one half (as an analyst's label file) and scored on
the other half, both ways round, against the seed-only model on the same halves.

Embeddings are cached in ``--cache`` (a folder of .npz files keyed by text hash), so a
second run costs the heads' fits only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]  # the repository; ../shared sits beside it

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from policytrends.corpus.hashing import text_hash  # noqa: E402
from policytrends.models import labels as L  # noqa: E402
from policytrends.models.baselines import KeywordMatcher  # noqa: E402
from policytrends.models.classifier import ThemeClassifier  # noqa: E402
from policytrends.models.labels import SEED_LABELS  # noqa: E402
from policytrends.models.training import BLEND_WEIGHT, analyst_weight, evaluate, new_classifier  # noqa: E402

DEV = ROOT.parent / "shared" / "benchmarks" / "realdev.jsonl"


class EmbeddingCache:
    """MiniLM embeddings by text hash, kept in .npz files between runs."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.vectors: dict[str, np.ndarray] = {}
        for f in sorted(folder.glob("*.npz")):
            with np.load(f) as d:
                self.vectors.update(zip(d["keys"].tolist(), d["vectors"], strict=True))

    key = staticmethod(text_hash)  # the store's passage key: whitespace-normalised SHA-256

    def __call__(self, texts) -> np.ndarray:
        texts = list(texts)
        keys = [self.key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}
        if missing:
            from policytrends.models.encoder import get_encoder

            t0 = time.perf_counter()
            vectors = get_encoder().encode(list(missing.values()))
            print(f"  (encoded {len(missing)} passages in {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
            np.savez(self.folder / f"{time.time_ns()}.npz", keys=np.array(list(missing)), vectors=vectors)
            self.vectors.update(zip(missing, vectors, strict=True))
        return np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


def candidates(embed) -> dict:
    return {
        "keyword matcher (codebook)": lambda X, Y: KeywordMatcher().fit(Y=Y),
        "MiniLM + TF-IDF blend, no cues (previous release)": lambda X, Y: ThemeClassifier(cues=False, embedder=embed).fit(X, Y),
        "MiniLM + cues, no TF-IDF": lambda X, Y: ThemeClassifier(lexical=False, embedder=embed).fit(X, Y),
        "MiniLM + cues, TF-IDF blend, weight by cross-validation on seed": lambda X, Y: ThemeClassifier(embedder=embed).fit(X, Y),
        f"MiniLM + cues, TF-IDF blend, weight {BLEND_WEIGHT} (shipped)": lambda X, Y: new_classifier(embed).fit(X, Y),
    }


def row(name: str, m: dict, themes: list[str], extra: str = "") -> str:
    return f"| {name} | " + " | ".join(f"{m['per_theme'][t]['f1']:.3f}" for t in themes) + f" | **{m['macro_f1']:.3f}** |{extra}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEV, help="real labelled passages (JSONL, CSV or Label Studio JSON)")
    parser.add_argument("--seed", type=Path, default=SEED_LABELS, help="the labels the models train on")
    parser.add_argument("--cache", type=Path, default=ROOT / ".policytrends" / "bench-embeddings")
    parser.add_argument("--no-analyst-loop", action="store_true", help="skip the seed + half-of-dev experiment")
    parser.add_argument("--record", action="store_true",
                        help=f"write the shipped candidate's figure to {L.REAL_TEXT_RECORD.relative_to(ROOT)} "
                             "(the model card quotes it for models trained from exactly these seed labels)")
    args = parser.parse_args()
    if not args.dev.exists():
        sys.exit(f"error: {args.dev} not found (pass --dev with a labelled file of real passages)")

    seed = L.read_labels(args.seed)
    dev = L.read_labels(args.dev)
    themes = L.themes_of(seed)
    train, held = L.split(seed)
    embed = EmbeddingCache(args.cache)
    embed(seed["text"].tolist() + dev["text"].tolist())
    print(f"seed: {len(seed)} passages ({len(train)} train, {len(held)} held out); dev: {len(dev)} real passages\n")

    print("| candidate | " + " | ".join(themes) + " | macro-F1 (real) | seed held-out | fit s |")
    print("|---" * (len(themes) + 4) + "|")
    for name, make in candidates(embed).items():
        t0 = time.perf_counter()
        full = make(seed["text"].tolist(), pd.DataFrame(L.label_matrix(seed, themes), columns=themes))
        fit_s = time.perf_counter() - t0
        part = make(train["text"].tolist(), pd.DataFrame(L.label_matrix(train, themes), columns=themes))
        print(row(name, evaluate(full, dev, themes), themes,
                  f" {evaluate(part, held, themes)['macro_f1']:.3f} | {fit_s:.1f} |"), flush=True)
        if name.endswith("(shipped)"):
            shipped, shipped_metrics = full, evaluate(full, dev, themes)
    # The ceiling of thresholds: the shipped model cut at each theme's best threshold on the dev set itself.
    P = shipped.predict_proba(dev["text"].tolist())
    Y = L.label_matrix(dev, themes)
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3)
    best = [max(grid, key=lambda t, j=j: _f1(P[:, j] >= t, Y[:, j])) for j in range(len(themes))]
    f1s = [_f1(P[:, j] >= best[j], Y[:, j]) for j in range(len(themes))]
    print("| shipped, thresholds chosen on the dev set itself (a ceiling, not a result) | "
          + " | ".join(f"{f:.3f}" for f in f1s) + f" | {np.mean(f1s):.3f} | | |")
    print("\nshipped model: blend weight", shipped.weight_, "thresholds",
          dict(zip(themes, np.round(shipped.thresholds_, 3).tolist(), strict=True)))

    if args.record:
        record(args.dev, seed, dev, shipped_metrics)
    if not args.no_analyst_loop:
        analyst_loop(seed, dev, themes, embed)


def record(dev_path: Path, seed: pd.DataFrame, dev: pd.DataFrame, metrics: dict) -> None:
    """Write the figure beside the seed labels, keyed by their data hash (no text of the dev set)."""
    import json
    from datetime import date

    raw = pd.read_json(dev_path, lines=True) if dev_path.suffix == ".jsonl" else pd.DataFrame()
    data = {"data_hash": L.data_hash(seed), "dev_set": dev_path.name, "passages": len(dev),
            "sites": int(raw["site"].nunique()) if "site" in raw else None, "measured": date.today().isoformat(),
            "macro_f1": metrics["macro_f1"], "per_theme_f1": {t: m["f1"] for t, m in metrics["per_theme"].items()}}
    L.REAL_TEXT_RECORD.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {L.REAL_TEXT_RECORD}")


def analyst_loop(seed: pd.DataFrame, dev: pd.DataFrame, themes: list[str], embed) -> None:
    """Seed + one half of the real passages as an analyst's labels, scored on the other half."""
    half = dev["text"].map(lambda t: int(EmbeddingCache.key(t)[:8], 16) % 2)
    before, after = [], []
    for k in (0, 1):
        mine, rest = dev[half == k].reset_index(drop=True), dev[half != k].reset_index(drop=True)
        X = seed["text"].tolist() + mine["text"].tolist()
        Y = pd.DataFrame(L.label_matrix(pd.concat([seed, mine]), themes), columns=themes)
        analyst = np.r_[np.zeros(len(seed), bool), np.ones(len(mine), bool)]
        weights = np.where(analyst, analyst_weight(len(seed), len(mine)), 1.0)
        seed_only = new_classifier(embed).fit(seed["text"].tolist(), pd.DataFrame(L.label_matrix(seed, themes), columns=themes))
        with_analyst = new_classifier(embed).fit(X, Y, sample_weight=weights, tune_on=analyst)
        before.append(evaluate(seed_only, rest, themes))
        after.append(evaluate(with_analyst, rest, themes))
        print(f"\nhalf {k}: {len(mine)} analyst labels (weight {weights[-1]:.1f} each), scored on the other {len(rest)}")
        print(row("seed only", before[-1], themes))
        print(row("seed + analyst labels", after[-1], themes))
    for name, ms in (("seed only", before), ("seed + analyst labels", after)):
        mean = {"per_theme": {t: {"f1": np.mean([m["per_theme"][t]["f1"] for m in ms])} for t in themes},
                "macro_f1": np.mean([m["macro_f1"] for m in ms])}
        print(row(f"{name} (mean of both halves)", mean, themes))


def _f1(pred: np.ndarray, y: np.ndarray) -> float:
    tp = float(np.sum(pred & (y == 1)))
    denom = float(pred.sum() + y.sum())
    return 2 * tp / denom if denom else 0.0


if __name__ == "__main__":
    main()
