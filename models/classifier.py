"""The multi-label theme classifier, with scikit-learn's estimator habits.

Two views of a passage, each with one logistic regression per theme, blended:
- the MiniLM sentence embedding, with the codebook cues appended (``models/cues.py``: the
  words the codebook's rules point at, such as nonproliferation terms that argue against
  deterrence); the embedding catches paraphrase ("the shield over Poland" is missile defence),
  the cues carry the decision rules that text written for the project cannot teach;
- TF-IDF word 1-2 grams over the whole passage (catches names of systems, treaties and groups,
  which a small encoder blurs, and sees text beyond the encoder's window).

``p = weight * p_embedding + (1 - weight) * p_lexical``. The weight and each theme's decision
threshold are chosen on cross-validated (out-of-fold) predictions: of the rows ``tune_on``
marks (analysts' labels of real text) when there are any, else of all training labels. Rows
can be weighted (``sample_weight``): an analyst's labels count more than the seed labels.
Chosen by measurement on real labelled passages (``bench/real_text.py``).

Saved without pickle: arrays in safetensors, everything else in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from policytrends.models.encoder import bound_texts

Embedder = Callable[[Sequence[str]], np.ndarray]
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
WEIGHT_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
# Tuning rows (analysts' real-text labels) choose a theme's threshold only with at least this
# many positives and negatives among them; fewer would make the threshold a coin toss.
MIN_TUNE_POSITIVES = 5
FORMAT = 3  # head.json layout: 3 adds the codebook cues; 2 (no cues) and 1 (one head over concatenated features) still load


def default_embedder(texts: Sequence[str]) -> np.ndarray:
    from policytrends.models.encoder import get_encoder

    return get_encoder().encode(list(texts))


class ThemeClassifier(BaseEstimator, ClassifierMixin):
    """Tag texts with zero or more themes.

    Parameters
    ----------
    C : inverse regularisation strength of the embedding head's logistic regressions.
    C_lexical : the same for the TF-IDF head.
    lexical : blend in the TF-IDF head (False: embeddings alone).
    cues : append the codebook cues (``models/cues.py``) to the embedding.
    cue_scale : how much the standardised cues weigh beside the unit-length embedding.
    weight : share of the embedding head in the blend; None chooses it from ``WEIGHT_GRID``
        on cross-validated predictions.
    max_features : size of the TF-IDF vocabulary.
    cv : folds used to choose the weight and the per-theme thresholds.
    embedder : callable mapping texts to an (n, d) array; default: the MiniLM encoder.

    >>> clf = ThemeClassifier().fit(texts, Y)        # doctest: +SKIP
    >>> clf.classes_, clf.weight_, clf.thresholds_    # doctest: +SKIP
    """

    def __init__(self, C: float = 4.0, C_lexical: float = 8.0, lexical: bool = True, cues: bool = True, cue_scale: float = 0.2,
                 weight: float | None = None, max_features: int = 20000, cv: int = 5, embedder: Embedder | None = None):
        self.C = C
        self.C_lexical = C_lexical
        self.lexical = lexical
        self.cues = cues
        self.cue_scale = cue_scale
        self.weight = weight
        self.max_features = max_features
        self.cv = cv
        self.embedder = embedder

    # ----------------------------------------------------------------- parts
    def _embed(self, X: Sequence[str]) -> np.ndarray:
        return np.asarray((self.embedder or default_embedder)(list(X)), dtype=np.float32)

    def _new_vectorizer(self) -> TfidfVectorizer:
        return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=self.max_features,
                               sublinear_tf=True, strip_accents="unicode", lowercase=True)

    def _semantic(self, X: Sequence[str], emb: np.ndarray) -> np.ndarray:
        """The embedding head's input: the embedding, then the standardised cues (if any)."""
        if self.cue_features_ is None:
            return emb
        K = (self.cue_features_.transform(X) - self.cue_mean_) / self.cue_std_
        return np.hstack([emb, self.cue_scale * K]).astype(np.float32)

    @staticmethod
    def _fit_heads(F, Y: np.ndarray, C: float, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        coefs, intercepts = [], []
        for j in range(Y.shape[1]):
            lr = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=1000)
            lr.fit(F, Y[:, j], sample_weight=sample_weight)
            coefs.append(lr.coef_[0])
            intercepts.append(lr.intercept_[0])
        return np.vstack(coefs), np.array(intercepts)

    # ----------------------------------------------------------------- estimator API
    def fit(self, X: Sequence[str], Y, sample_weight=None, tune_on=None) -> ThemeClassifier:
        """Fit on texts ``X`` and a 0/1 label matrix ``Y`` (a DataFrame names the themes).

        ``sample_weight``: one weight per text (analysts' labels above the seed labels).
        ``tune_on``: a boolean mask of the texts whose out-of-fold predictions choose the blend
        weight and the thresholds (labels of real text); default all. A mask that holds too few
        positives of a theme to choose its threshold falls back to all texts for that theme.
        """
        X = bound_texts(X)  # a multi-megabyte cell would take minutes in every view
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
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        tune = np.ones(len(X), bool) if tune_on is None else np.asarray(tune_on, dtype=bool)
        if w is not None and len(w) != len(X) or len(tune) != len(X):
            raise ValueError("sample_weight and tune_on need one value per text")

        self.cue_features_ = None
        if self.cues:
            from policytrends.models.cues import CueFeatures

            self.cue_features_ = CueFeatures()
            K = self.cue_features_.transform(X)
            # A cue constant in the training text keeps scale 1: dividing by ~0 would turn its first
            # occurrence in new text into a huge feature.
            std = K.std(axis=0)
            self.cue_mean_, self.cue_std_ = K.mean(axis=0), np.where(std < 1e-6, 1.0, std)
        S = self._semantic(X, self._embed(X))

        # Out-of-fold probabilities of each head: what the model does on text it has not seen.
        oof_emb = np.zeros(Y.shape)
        oof_lex = np.zeros(Y.shape)
        folds = KFold(n_splits=min(self.cv, len(X)), shuffle=True, random_state=0)
        for tr, te in folds.split(X):
            wtr = None if w is None else w[tr]
            coef, icpt = self._fit_heads(S[tr], Y[tr], self.C, wtr)
            oof_emb[te] = _sigmoid(S[te] @ coef.T + icpt)
            if self.lexical:
                vec = self._new_vectorizer().fit([X[i] for i in tr])
                coef, icpt = self._fit_heads(vec.transform([X[i] for i in tr]), Y[tr], self.C_lexical, wtr)
                oof_lex[te] = _sigmoid(vec.transform([X[i] for i in te]) @ coef.T + icpt)

        # Each theme is tuned on the marked rows when they hold enough of its positives and negatives.
        rows = [tune if min(Y[tune, j].sum(), (1 - Y[tune, j]).sum()) >= MIN_TUNE_POSITIVES else np.ones(len(X), bool)
                for j in range(Y.shape[1])]
        if not self.lexical:
            self.weight_ = 1.0
        elif self.weight is not None:
            self.weight_ = float(self.weight)
        else:
            self.weight_ = max(WEIGHT_GRID, key=lambda v: _macro_f1_at_best(v * oof_emb + (1 - v) * oof_lex, Y, rows))
        oof = self.weight_ * oof_emb + (1 - self.weight_) * oof_lex
        self.oof_proba_ = oof  # what each training text got from a model that did not see it
        self.thresholds_ = np.array([_best_threshold(oof[rows[j], j], Y[rows[j], j]) for j in range(Y.shape[1])])
        self.cv_macro_f1_ = _macro_f1_at_best(oof, Y, rows)
        self.tuned_on_ = int(tune.sum())

        self.coef_, self.intercept_ = self._fit_heads(S, Y, self.C, w)
        self.vectorizer_ = None
        if self.lexical:
            self.vectorizer_ = self._new_vectorizer().fit(X)
            self.lexical_coef_, self.lexical_intercept_ = self._fit_heads(self.vectorizer_.transform(X), Y, self.C_lexical, w)
        self.classes_ = np.array(themes)
        self.n_features_in_ = self.coef_.shape[1]
        return self

    def predict_proba(self, X: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """(n, themes) probabilities; pass precomputed ``embeddings`` to skip the encoder."""
        X = bound_texts(X)
        if not X:
            return np.zeros((0, len(self.classes_)))
        emb = self._embed(X) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        if getattr(self, "_format", FORMAT) == 1:  # one head over [embedding, TF-IDF]
            from scipy import sparse

            F = emb if self.vectorizer_ is None else sparse.hstack([sparse.csr_matrix(emb), self.vectorizer_.transform(X)]).tocsr()
            return _sigmoid(F @ self.coef_.T + self.intercept_)
        p = _sigmoid(self._semantic(X, emb) @ self.coef_.T + self.intercept_)
        if self.vectorizer_ is not None and self.weight_ < 1.0:
            lex = _sigmoid(self.vectorizer_.transform(X) @ self.lexical_coef_.T + self.lexical_intercept_)
            p = self.weight_ * p + (1 - self.weight_) * lex
        return p

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
            tensors["lexical_coef"] = self.lexical_coef_.astype(np.float32)
            tensors["lexical_intercept"] = self.lexical_intercept_.astype(np.float32)
            vocab = {term: int(i) for term, i in self.vectorizer_.vocabulary_.items()}
        cues = None
        if self.cue_features_ is not None:
            tensors["cue_mean"] = self.cue_mean_.astype(np.float32)
            tensors["cue_std"] = self.cue_std_.astype(np.float32)
            cues = {g: list(p) for g, p in self.cue_features_.cues.items()}  # the model keeps the cues it was trained with
        save_file(tensors, str(folder / "head.safetensors"))
        meta = {"format": FORMAT, "params": {k: v for k, v in self.get_params().items() if k != "embedder"},
                "weight": float(self.weight_), "classes": [str(c) for c in self.classes_], "vocabulary": vocab, "cues": cues}
        (folder / "head.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, embedder: Embedder | None = None) -> ThemeClassifier:
        from safetensors.numpy import load_file

        meta = json.loads((folder / "head.json").read_text(encoding="utf-8"))
        arrays = load_file(str(folder / "head.safetensors"))
        params = {k: v for k, v in meta["params"].items() if k in cls._get_param_names()}
        params.setdefault("cues", False)  # versions before format 3 had none
        clf = cls(**params, embedder=embedder)
        clf._format = meta.get("format", 1)
        clf.classes_ = np.array(meta["classes"])
        clf.coef_ = arrays["coef"].astype(np.float64)
        clf.intercept_ = arrays["intercept"].astype(np.float64)
        clf.thresholds_ = arrays["thresholds"].astype(np.float64)
        clf.weight_ = float(meta.get("weight", 1.0))
        clf.n_features_in_ = clf.coef_.shape[1]
        clf.cue_features_ = None
        if meta.get("cues"):
            from policytrends.models.cues import CueFeatures

            clf.cue_features_ = CueFeatures({g: tuple(p) for g, p in meta["cues"].items()})
            clf.cue_mean_ = arrays["cue_mean"].astype(np.float64)
            clf.cue_std_ = arrays["cue_std"].astype(np.float64)
        clf.vectorizer_ = None
        if meta["vocabulary"] is not None:
            vec = clf._new_vectorizer()
            vec.vocabulary_ = meta["vocabulary"]
            vec.idf_ = arrays["idf"]
            clf.vectorizer_ = vec
            if clf._format >= 2:
                clf.lexical_coef_ = arrays["lexical_coef"].astype(np.float64)
                clf.lexical_intercept_ = arrays["lexical_intercept"].astype(np.float64)
        return clf


def _sigmoid(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for t in THRESHOLD_GRID:
        f1 = _f1(p >= t, y)
        # Ties go to the threshold nearest 0.5: a less extreme cut generalises better.
        if f1 > best_f1 + 1e-9 or (abs(f1 - best_f1) <= 1e-9 and abs(t - 0.5) < abs(best - 0.5)):
            best, best_f1 = float(t), f1
    return best


def _f1(pred: np.ndarray, y: np.ndarray) -> float:
    tp = float(np.sum(pred & (y == 1)))
    denom = float(pred.sum() + y.sum())
    return 2 * tp / denom if denom else 0.0


def _macro_f1_at_best(p: np.ndarray, Y: np.ndarray, rows: list[np.ndarray] | None = None) -> float:
    """Macro-F1 of ``p`` with each theme cut at its own best threshold (over ``rows[j]`` for theme j)."""
    rows = rows or [np.ones(len(Y), bool)] * Y.shape[1]
    return float(np.mean([_f1(p[rows[j], j] >= _best_threshold(p[rows[j], j], Y[rows[j], j]), Y[rows[j], j])
                          for j in range(Y.shape[1])]))
