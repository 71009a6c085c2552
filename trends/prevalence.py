"""Error-corrected theme prevalence: adjusted classify-and-count with a 95% interval.

A classifier with recall (true-positive rate) ``tpr`` and false-positive rate ``fpr`` tags a
share ``q = tpr * p + fpr * (1 - p)`` of passages when the true prevalence is ``p``. Solving
for ``p`` gives the adjusted classify-and-count estimate

    p = (q - fpr) / (tpr - fpr),  clipped to [0, 1].

``tpr`` and ``fpr`` are the current model's validated rates (``model.json``, ``error_rates``):
measured on analysts' labels of real text when the model was trained with any, else on the
seed labels' held-out split, which overstates recall and understates false positives on real
commentary (the run then warns). The interval adds two sources of uncertainty:

- the period's own count: a Wilson interval for ``q`` (sound for few passages and for
  shares of 0 or 1), mapped through the correction, so it widens when ``n`` is small;
- the validation set's size: the delta-method variance of ``p`` in ``tpr`` and ``fpr``,
  each estimated with Agresti-Coull smoothing (a rate of exactly 1.0 on 18 held-out
  passages is not known exactly).

The two are added in quadrature on each side. Passages are treated as independent; passages
of one article are correlated, so for a single source and a short period the interval is
on the narrow side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
# Below this separation the correction divides by almost nothing: the classifier barely
# tells the theme apart, and no prevalence is reported for it.
MIN_SEPARATION = 0.2


@dataclass(frozen=True)
class ErrorRates:
    """Validated error rates of one theme: ``positives`` and ``negatives`` held-out passages."""

    tpr: float
    fpr: float
    positives: int
    negatives: int
    source: str = "seed"  # which labels they were measured on: "analyst" (real text) or "seed"

    @property
    def usable(self) -> bool:
        return self.positives > 0 and self.negatives > 0 and self.tpr - self.fpr >= MIN_SEPARATION


SEED_RATES_WARNING = ("the corrected prevalence uses error rates measured on the seed labels (text written for the project), "
                      "which overstate recall and understate false positives on real commentary: label about 120 passages "
                      "of your corpus (`policytrends label-queue`) and retrain with them")


def error_rates(model_info: dict, themes: list[str]) -> tuple[dict[str, ErrorRates], list[str]]:
    """Per-theme rates from a version's ``model.json``, and warnings for themes without usable ones.

    ``error_rates`` names the labels the rates were measured on. Versions trained before it was
    recorded have their held-out metrics; before ``tpr``/``fpr`` were recorded, precision,
    recall, support and the held-out size, from which the false-positive count follows exactly.
    """
    recorded = model_info.get("error_rates")
    heldout = recorded or (model_info.get("metrics") or {}).get("heldout") or {}
    source = (recorded or {}).get("source", "seed")
    per = heldout.get("per_theme") or {}
    total = heldout.get("passages")
    rates: dict[str, ErrorRates] = {}
    warnings: list[str] = []
    for theme in themes:
        m = per.get(theme)
        if not m or not m.get("support"):
            warnings.append(f"theme {theme!r} has no held-out positives in the model's validation: "
                            "no corrected prevalence for it (add labelled passages and retrain)")
            continue
        support = int(m["support"])
        tpr = float(m.get("tpr", m.get("recall", 0.0)))
        if "fpr" in m:
            fpr = float(m["fpr"])
            negatives = int(m.get("negatives", (total or support) - support))
        else:
            negatives = int(total - support) if total else 0
            precision = float(m.get("precision", 0.0))
            true_pos = tpr * support
            false_pos = true_pos * (1 - precision) / precision if precision > 0 else float("nan")
            fpr = false_pos / negatives if negatives else float("nan")
        r = ErrorRates(tpr, fpr, support, negatives, source)
        if not np.isfinite(fpr) or not r.usable:
            warnings.append(f"theme {theme!r}: validated tpr {tpr:.3f} and fpr {fpr:.3f} are too close (or unknown) "
                            "to correct the share: no corrected prevalence for it")
            continue
        rates[theme] = r
    if source == "seed" and rates:
        warnings.append(SEED_RATES_WARNING)
    return rates, warnings


def wilson(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion ``k / n`` (NaN where ``n`` is 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = k / n
        denom = 1 + z**2 / n
        centre = (q + z**2 / (2 * n)) / denom
        half = z * np.sqrt(q * (1 - q) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def _smoothed_var(rate: float, count: int) -> float:
    # Agresti-Coull: add two successes and two failures before taking the binomial variance.
    r = (rate * count + 2) / (count + 4)
    return r * (1 - r) / (count + 4)


def corrected_prevalence(k, n, rates: ErrorRates | None, z: float = Z95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prevalence, low, high) for ``k`` tagged passages out of ``n``, all NaN where ``n`` is 0
    or the theme has no usable rates.

    >>> p, lo, hi = corrected_prevalence([40], [200], ErrorRates(0.9, 0.05, 100, 400))
    >>> round(float(p[0]), 3), bool(lo[0] < p[0] < hi[0])
    (0.176, True)
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if rates is None:
        nan = np.full(k.shape, np.nan)
        return nan, nan.copy(), nan.copy()
    t, f = rates.tpr, rates.fpr
    d = t - f
    with np.errstate(divide="ignore", invalid="ignore"):
        q = k / n
        raw = (q - f) / d
        q_low, q_high = wilson(k, n, z)
        below = raw - (q_low - f) / d
        above = (q_high - f) / d - raw
        clipped = np.clip(raw, 0, 1)
        calibration = z * np.sqrt(clipped**2 * _smoothed_var(t, rates.positives)
                                  + (1 - clipped) ** 2 * _smoothed_var(f, rates.negatives)) / d
        low = raw - np.sqrt(below**2 + calibration**2)
        high = raw + np.sqrt(above**2 + calibration**2)
    return clipped, np.clip(low, 0, 1), np.clip(high, 0, 1)
