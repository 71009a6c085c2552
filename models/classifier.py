"""The multi-label theme classifier, with scikit-learn's estimator habits.

Features: the MiniLM sentence embedding of a passage, joined with TF-IDF word n-grams (the
encoder catches paraphrase; the lexical part catches names of systems, treaties and groups
that a small encoder blurs). One logistic regression per theme; each theme's decision
threshold is chosen on cross-validated predictions to maximise F1, not left at 0.5.

Saved without pickle: arrays in safetensors, everything else in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

Embedder = Callable[[Sequence[str]], np.ndarray]
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def default_embedder(texts: Sequence[str]) -> np.ndarray:
    from models.encoder import get_encoder

    return get_encoder().encode(list(texts))


class ThemeClassifier(BaseEstimator, ClassifierMixin):
    """Tag texts with zero or more themes.

    Parameters
    ----------
    C : inverse regularisation strength of each theme's logistic regression.
    lexical : add TF-IDF word 1-2 grams to the embedding.
    max_features : size of the TF-IDF vocabulary.
    cv : folds used to choose per-theme thresholds.
    embedder : callable mapping texts to an (n, d) array; default: the MiniLM encoder.

    >>> clf = ThemeClassifier().fit(texts, Y)        # doctest: +SKIP
    >>> clf.classes_, clf.thresholds_                 # doctest: +SKIP
    """

    def __init__(self, C: float = 4.0, lexical: bool = True, max_features: int = 20000, cv: int = 5,
                 embedder: Embedder | None = None):
        self.C = C
        self.lexical = lexical
        self.max_features = max_features
        self.cv = cv
        self.embedder = embedder

    # ----------------------------------------------------------------- features
    def _embed(self, X: Sequence[str]) -> np.ndarray:
        return np.asarray((self.embedder or default_embedder)(list(X)), dtype=np.float32)

    def _features(self, X: Sequence[str], emb: np.ndarray, vectorizer: TfidfVectorizer | None):
        if vectorizer is None:
            return emb
        return sparse.hstack([sparse.csr_matrix(emb), vectorizer.transform(list(X))]).tocsr()

    def _new_vectorizer(self) -> TfidfVectorizer:
        return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=self.max_features,
                               sublinear_tf=True, strip_accents="unicode", lowercase=True)

    def _fit_heads(self, F, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coefs, intercepts = [], []
        for j in range(Y.shape[1]):
            lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
            lr.fit(F, Y[:, j])
            coefs.append(lr.coef_[0])
            intercepts.append(lr.intercept_[0])
        return np.vstack(coefs), np.array(intercepts)

    # ----------------------------------------------------------------- estimator API
    def fit(self, X: Sequence[str], Y) -> ThemeClassifier:
        """Fit on texts ``X`` and a 0/1 label matrix ``Y`` (a DataFrame names the themes)."""
        X = list(X)
        if isinstance(Y, pd.DataFrame):
            themes, Y = list(Y.columns), Y.to_numpy()
        else:
            Y = np.asarray(Y)
            themes = [f"theme_{j}" for j in range(Y.shape[1])]
        if len(X) != len(Y):
            raise ValueError(f"X has {len(X)} texts but Y has {len(Y)} rows")
        Y = (Y > 0).astype(np.int8)
        for j, t in enumerate(themes):
            if Y[:, j].min() == Y[:, j].max():
                raise ValueError(f"theme {t!r} has only {'positive' if Y[0, j] else 'negative'} examples")
        emb = self._embed(X)

        # Thresholds from out-of-fold probabilities: what the model does on unseen text.
        oof = np.zeros(Y.shape, dtype=np.float64)
        folds = KFold(n_splits=min(self.cv, len(X)), shuffle=True, random_state=0)
        for tr, te in folds.split(X):
            vec = self._new_vectorizer().fit([X[i] for i in tr]) if self.lexical else None
            coef, icpt = self._fit_heads(self._features([X[i] for i in tr], emb[tr], vec), Y[tr])
            oof[te] = _sigmoid(self._features([X[i] for i in te], emb[te], vec) @ coef.T + icpt)
        self.thresholds_ = np.array([_best_threshold(oof[:, j], Y[:, j]) for j in range(Y.shape[1])])

        self.vectorizer_ = self._new_vectorizer().fit(X) if self.lexical else None
        self.coef_, self.intercept_ = self._fit_heads(self._features(X, emb, self.vectorizer_), Y)
        self.classes_ = np.array(themes)
        self.n_features_in_ = self.coef_.shape[1]
        return self

    def predict_proba(self, X: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """(n, themes) probabilities; pass precomputed ``embeddings`` to skip the encoder."""
        X = list(X)
        if not X:
            return np.zeros((0, len(self.classes_)))
        emb = self._embed(X) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        return _sigmoid(self._features(X, emb, self.vectorizer_) @ self.coef_.T + self.intercept_)

    def predict(self, X: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.predict_proba(X, embeddings) >= self.thresholds_

    # ----------------------------------------------------------------- persistence
    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        tensors = {"coef": self.coef_.astype(np.float32), "intercept": self.intercept_.astype(np.float32),
                   "thresholds": self.thresholds_.astype(np.float32)}
        vocab = None
        if self.vectorizer_ is not None:
            tensors["idf"] = self.vectorizer_.idf_.astype(np.float64)
            vocab = {term: int(i) for term, i in self.vectorizer_.vocabulary_.items()}
        save_file(tensors, str(folder / "head.safetensors"))
        meta = {"params": {k: v for k, v in self.get_params().items() if k != "embedder"},
                "classes": [str(c) for c in self.classes_], "vocabulary": vocab}
        (folder / "head.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, embedder: Embedder | None = None) -> ThemeClassifier:
        from safetensors.numpy import load_file

        meta = json.loads((folder / "head.json").read_text(encoding="utf-8"))
        arrays = load_file(str(folder / "head.safetensors"))
        clf = cls(**meta["params"], embedder=embedder)
        clf.classes_ = np.array(meta["classes"])
        clf.coef_ = arrays["coef"].astype(np.float64)
        clf.intercept_ = arrays["intercept"].astype(np.float64)
        clf.thresholds_ = arrays["thresholds"].astype(np.float64)
        clf.n_features_in_ = clf.coef_.shape[1]
        clf.vectorizer_ = None
        if meta["vocabulary"] is not None:
            vec = clf._new_vectorizer()
            vec.vocabulary_ = meta["vocabulary"]
            vec.idf_ = arrays["idf"]
            clf.vectorizer_ = vec
        return clf


def _sigmoid(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for t in THRESHOLD_GRID:
        pred = p >= t
        tp = float(np.sum(pred & (y == 1)))
        f1 = 2 * tp / (pred.sum() + y.sum()) if (pred.sum() + y.sum()) else 0.0
        # Ties go to the threshold nearest 0.5: a less extreme cut generalises better.
        if f1 > best_f1 + 1e-9 or (abs(f1 - best_f1) <= 1e-9 and abs(t - 0.5) < abs(best - 0.5)):
            best, best_f1 = float(t), f1
    return best
