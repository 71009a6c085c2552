"""Choose the classifier by measurement: candidates on the held-out split of the seed labels.

    .venv/bin/python bench/model_selection.py [--labels FILE]

Prints per-theme F1 and macro-F1 of each candidate on the same held-out passages (the split
training never sees), with training seconds. Candidates:
- keyword matcher written from the codebook (no training);
- TF-IDF + logistic regression;
- frozen MiniLM embeddings + logistic regression, thresholds tuned on cross-validation;
- one logistic regression over MiniLM embeddings and TF-IDF concatenated (the first release);
- the two heads blended, weight and thresholds chosen on cross-validation (the shipped model).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from policytrends.models import labels as L  # noqa: E402
from policytrends.models.baselines import KeywordMatcher, TfidfBaseline  # noqa: E402
from policytrends.models.classifier import ThemeClassifier, _best_threshold, _sigmoid  # noqa: E402
from policytrends.models.encoder import get_encoder  # noqa: E402
from policytrends.models.labels import SEED_LABELS  # noqa: E402
from policytrends.models.training import evaluate  # noqa: E402


class ConcatenatedHeads(ThemeClassifier):
    """The first release's model: one head over [embedding, TF-IDF], thresholds on 5-fold CV."""

    def fit(self, X, Y):
        from scipy import sparse
        from sklearn.model_selection import KFold

        X, themes, Y = list(X), list(Y.columns), Y.to_numpy()
        emb = self._embed(X)

        def features(idx, vec):
            return sparse.hstack([sparse.csr_matrix(emb[idx]), vec.transform([X[i] for i in idx])]).tocsr()

        oof = np.zeros(Y.shape)
        for tr, te in KFold(5, shuffle=True, random_state=0).split(X):
            vec = self._new_vectorizer().fit([X[i] for i in tr])
            coef, icpt = self._fit_heads(features(tr, vec), Y[tr], self.C)
            oof[te] = _sigmoid(features(te, vec) @ coef.T + icpt)
        self.thresholds_ = np.array([_best_threshold(oof[:, j], Y[:, j]) for j in range(Y.shape[1])])
        self.vectorizer_ = self._new_vectorizer().fit(X)
        self.coef_, self.intercept_ = self._fit_heads(features(np.arange(len(X)), self.vectorizer_), Y, self.C)
        self.classes_, self._format, self.weight_ = np.array(themes), 1, 1.0
        return self


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", default=str(SEED_LABELS))
    args = parser.parse_args()
    df = L.read_labels(args.labels)
    themes = L.themes_of(df)
    train, held = L.split(df)
    Y = pd.DataFrame(L.label_matrix(train, themes), columns=themes)

    t0 = time.perf_counter()
    texts = df["text"].tolist()
    vectors = dict(zip(texts, get_encoder().encode(texts), strict=True))
    encode_s = time.perf_counter() - t0

    def embed(xs):
        return np.stack([vectors[x] for x in xs])

    candidates = {
        "keyword matcher": lambda: KeywordMatcher().fit(Y=Y),
        "TF-IDF + logreg": lambda: TfidfBaseline().fit(train["text"], Y),
        "MiniLM + logreg": lambda: ThemeClassifier(lexical=False, embedder=embed).fit(train["text"], Y),
        "MiniLM, TF-IDF concatenated": lambda: ConcatenatedHeads(embedder=embed).fit(train["text"], Y),
        "MiniLM, TF-IDF blended (shipped)": lambda: ThemeClassifier(embedder=embed).fit(train["text"], Y),
    }
    print(f"{len(df)} labelled passages: {len(train)} train, {len(held)} held out; encoding all took {encode_s:.1f} s")
    header = f"{'candidate':<36}" + "".join(f"{t[:14]:>16}" for t in themes) + f"{'macro-F1':>10}{'fit s':>8}"
    print(header)
    for name, make in candidates.items():
        t0 = time.perf_counter()
        model = make()
        fit_s = time.perf_counter() - t0
        m = evaluate(model, held, themes)
        print(f"{name:<36}" + "".join(f"{m['per_theme'][t]['f1']:>16.3f}" for t in themes) + f"{m['macro_f1']:>10.3f}{fit_s:>8.1f}")
        if getattr(model, "cv_macro_f1_", None) is not None:
            print(f"{'':<36}blend weight on the embedding head chosen by 5-fold CV: {model.weight_:.1f} "
                  f"(CV macro-F1 {model.cv_macro_f1_:.3f})")


if __name__ == "__main__":
    main()
