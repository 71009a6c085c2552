"""Baselines the classifier must beat, measured on the same held-out labels.

- ``KeywordMatcher``: a careful keyword matcher written from the codebook (docs/codebook.md):
  a theme fires when the passage names one of its strong terms, or at least two of its weaker
  ones. No training.
- ``TfidfBaseline``: TF-IDF word n-grams and one logistic regression per theme, thresholds at 0.5.

Both expose ``fit(X, Y)`` / ``predict(X)`` and ``classes_`` like :class:`ThemeClassifier`, so
:func:`models.training.evaluate` scores them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from policytrends.models.encoder import bound_texts

# Strong terms decide alone; weak terms need company. Written from the codebook's definitions.
KEYWORDS: dict[str, dict[str, list[str]]] = {
    "deterrence": {
        "strong": [r"deterren\w*", r"strategic stability", r"new start", r"\binf treaty", r"\bsalt\b", r"second[- ]strike",
                   r"nuclear (posture|doctrine|forces|arsenal|umbrella|signall?ing|threats?|weapons|warheads?)",
                   r"extended deterrence", r"mutual(ly)? (assured|vulnerability)", r"no[- ]first[- ]use", r"warheads?"],
        "weak": [r"escalat\w*", r"nuclear", r"arsenal", r"assurance", r"\bicbms?\b", r"triad", r"arms control", r"deter\b"],
    },
    "cyber": {
        "strong": [r"cyber ?attacks?", r"cyber ?(warfare|espionage|operations?|command|security|norms|intrusions?|campaign)",
                   r"hack(ing|ers?|ed)\b", r"ransomware", r"malware", r"\bsnowden\b", r"signals intelligence", r"stuxnet",
                   r"notpetya", r"wannacry", r"solarwinds", r"volt typhoon", r"salt typhoon", r"zero[- ]day"],
        "weak": [r"cyber", r"intrusions?", r"breach(es|ed)?", r"surveillance", r"phishing", r"botnets?", r"critical infrastructure"],
    },
    "bmd": {
        "strong": [r"missile defen[cs]e", r"ballistic missile defen[cs]e", r"\bbmd\b", r"interceptors?", r"\baegis\b", r"\bthaad\b",
                   r"ground-based midcourse", r"\bgmd\b", r"iron dome", r"arrow[- ]?[23]?\b", r"golden dome", r"\bepaa\b",
                   r"phased adaptive approach", r"\bsm-3\b", r"\bs-[45]00\b"],
        "weak": [r"\bpatriot\b", r"intercept(ed|ion)?", r"deveselu", r"redzikowo", r"air and missile defen[cs]e"],
    },
    "counterterrorism": {
        "strong": [r"terroris[mt]\w*", r"counterterror\w*", r"counter-terror\w*", r"jihad\w*", r"al[- ]qa['’]?ida",
                   r"\bisis\b", r"\bisil\b", r"islamic state", r"al[- ]shabaab", r"boko haram", r"foreign fighters",
                   r"violent extremis\w*", r"countering violent extremism", r"terrorist financing"],
        "weak": [r"extremis\w*", r"militants?", r"attacks? on civilians", r"hezbollah", r"hamas", r"drone strikes?", r"taliban"],
    },
}


class KeywordMatcher:
    """Codebook keywords: one strong term, or two weak ones, make a theme."""

    def __init__(self, keywords: dict[str, dict[str, list[str]]] | None = None):
        self.keywords = keywords

    def fit(self, X: Sequence[str] = (), Y=None) -> KeywordMatcher:
        table = self.keywords or KEYWORDS
        themes = list(Y.columns) if isinstance(Y, pd.DataFrame) else sorted(table)
        self.classes_ = np.array(themes)
        self._patterns = {
            t: (re.compile("|".join(table.get(t, {}).get("strong", [])) or r"(?!x)x", re.I),
                [re.compile(w, re.I) for w in table.get(t, {}).get("weak", [])])
            for t in themes
        }
        return self

    def predict(self, X: Sequence[str]) -> np.ndarray:
        X = bound_texts(X)  # the same text the classifier reads: a 10 MB cell costs no more than 20,000 characters
        out = np.zeros((len(X), len(self.classes_)), dtype=bool)
        for i, text in enumerate(X):
            for j, t in enumerate(self.classes_):
                strong, weak = self._patterns[t]
                out[i, j] = bool(strong.search(text)) or sum(bool(w.search(text)) for w in weak) >= 2
        return out


class TfidfBaseline:
    """TF-IDF word 1-2 grams with one balanced logistic regression per theme (threshold 0.5)."""

    def __init__(self, C: float = 4.0):
        self.C = C

    def fit(self, X: Sequence[str], Y: pd.DataFrame) -> TfidfBaseline:
        self.classes_ = np.array(list(Y.columns))
        self.vectorizer_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode")
        F = self.vectorizer_.fit_transform(bound_texts(X))
        self.models_ = [LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000).fit(F, Y[t].to_numpy())
                        for t in self.classes_]
        return self

    def predict(self, X: Sequence[str]) -> np.ndarray:
        F = self.vectorizer_.transform(bound_texts(X))
        return np.column_stack([m.predict_proba(F)[:, 1] >= 0.5 for m in self.models_])
