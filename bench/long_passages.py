"""Text beyond the encoder's window: cut it off, or split it into windows and pool them?

    .venv/bin/python bench/long_passages.py [--n 150]

Builds long passages from the held-out seed labels (never seen in training): three held-out
passages with no theme, then one labelled passage, so the labelled part starts after about
the first 256 word pieces. The model trained on the training split tags them with embeddings
made both ways; the blended model and its embedding head alone are both shown (the TF-IDF
head reads the whole text either way). Short passages embed identically both ways.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from policytrends.models import labels as L  # noqa: E402
from policytrends.models.classifier import ThemeClassifier  # noqa: E402
from policytrends.models.encoder import get_encoder  # noqa: E402
from policytrends.models.labels import SEED_LABELS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150, help="long passages to build")
    args = parser.parse_args()
    df = L.read_labels(SEED_LABELS)
    themes = L.themes_of(df)
    train, held = L.split(df)
    pooled, truncated = get_encoder(long_text="pool"), get_encoder(long_text="truncate")
    vectors = dict(zip(train["text"], pooled.encode(train["text"].tolist()), strict=True))
    Y = pd.DataFrame(L.label_matrix(train, themes), columns=themes)
    blend = ThemeClassifier(embedder=lambda xs: np.stack([vectors[x] for x in xs])).fit(train["text"], Y)

    rng = np.random.default_rng(0)
    fillers = held[held["labels"].map(len) == 0]["text"].tolist()
    labelled = held[held["labels"].map(len) > 0].reset_index(drop=True)
    picks = rng.choice(len(labelled), size=min(args.n, len(labelled)), replace=False)
    rows = []
    for k in picks:
        lead = " ".join(fillers[i] for i in rng.choice(len(fillers), size=3, replace=False))
        rows.append({"text": f"{lead} {labelled.loc[k, 'text']}", "labels": labelled.loc[k, "labels"]})
    long = pd.DataFrame(rows)
    pieces = [len(pooled.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in long["text"]]
    print(f"{len(long)} long passages, {int(np.median(pieces))} word pieces median (window {pooled.max_tokens}); "
          f"the labelled part starts after {int(np.median([p - len(pooled.tokenizer(t)['input_ids']) for p, t in zip(pieces, labelled.loc[picks, 'text'], strict=True)]))} word pieces")
    Ylong = L.label_matrix(long, themes)
    texts = long["text"].tolist()
    print(f"{'embedding of long text':<24}{'seconds':>8}{'blend macro-F1':>16}{'embedding head alone':>22}")
    for name, enc in [("truncate", truncated), ("pool windows (default)", pooled)]:
        t0 = time.perf_counter()
        emb = enc.encode(texts)
        secs = time.perf_counter() - t0
        scores = []
        for weight in (blend.weight_, 1.0):
            saved = blend.weight_
            blend.weight_ = weight
            pred = blend.predict(texts, embeddings=emb)
            blend.weight_ = saved
            f1 = [2 * (pred[:, j] & (Ylong[:, j] == 1)).sum() / max(pred[:, j].sum() + Ylong[:, j].sum(), 1) for j in range(len(themes))]
            scores.append(float(np.mean(f1)))
        print(f"{name:<24}{secs:>8.1f}{scores[0]:>16.3f}{scores[1]:>22.3f}")


if __name__ == "__main__":
    main()
