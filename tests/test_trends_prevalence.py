"""Error-corrected prevalence: adjusted classify-and-count with a 95% interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from policytrends.trends.prevalence import SEED_RATES_WARNING, ErrorRates, corrected_prevalence, error_rates
from policytrends.trends.reading import PassagePredictions
from policytrends.trends.tables import document_stats, trend_table

TPR, FPR = 0.8, 0.1  # the simulated classifier misses 20% of the theme and tags 10% of the rest


def _simulate(periods: int, seed: int, heldout: tuple[int, int] = (150, 600)):
    """``periods`` months of one source: known true prevalence, classifier labels with known error rates.

    Returns the passage predictions, the documents, the true prevalence per month, and the
    error rates as a validation set of ``heldout`` (positives, negatives) would estimate them.
    """
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.05, 0.6, periods)
    sizes = rng.integers(100, 1000, periods)
    month = np.repeat(np.arange(periods), sizes)
    n = len(month)
    true_theme = rng.random(n) < truth[month]
    tagged = np.where(true_theme, rng.random(n) < TPR, rng.random(n) < FPR)
    doc = np.arange(n) // 4 + 1  # four passages per document, never across months
    doc = month * 1_000_000 + doc
    pp = PassagePredictions(np.arange(1, n + 1), doc, np.where(tagged, 0.9, 0.1).astype(np.float32)[:, None],
                            tagged[:, None], ["theme"])
    first = pd.Timestamp("2000-01-15")
    docs = pd.DataFrame({"document_id": np.unique(doc)})
    docs["source"] = "s"
    docs["published"] = [first + pd.DateOffset(months=int(d // 1_000_000)) for d in docs["document_id"]]
    realised = np.bincount(month, weights=true_theme) / sizes  # the true share of each month's passages
    positives, negatives = heldout
    rates = ErrorRates(rng.binomial(positives, TPR) / positives, rng.binomial(negatives, FPR) / negatives, positives, negatives)
    return pp, docs, realised, rates


@pytest.mark.slow
def test_corrected_prevalence_is_closer_to_the_truth_and_inside_the_interval():
    hits = total = 0
    raw_error = corrected_error = 0.0
    for seed in range(8):  # each seed: a new validation set and 60 months
        pp, docs, truth, rates = _simulate(60, seed)
        table = trend_table(document_stats(pp, docs), ["theme"], "month", "v", {"theme": rates})
        table = table[table["source"] == "s"].reset_index(drop=True)
        assert len(table) == 60
        raw_error += np.abs(table["share"] - truth).sum()
        corrected_error += np.abs(table["prevalence"] - truth).sum()
        hits += ((table["prevalence_low"] <= truth) & (truth <= table["prevalence_high"])).sum()
        total += len(table)
    assert corrected_error < 0.75 * raw_error, (corrected_error / total, raw_error / total)
    assert hits / total >= 0.90, hits / total


@pytest.mark.slow
def test_interval_holds_with_a_small_validation_set():
    # 20 held-out positives: the rates themselves are uncertain, and the interval says so.
    hits = total = 0
    for seed in range(30):
        pp, docs, truth, rates = _simulate(20, 100 + seed, heldout=(20, 85))
        table = trend_table(document_stats(pp, docs), ["theme"], "month", "v", {"theme": rates})
        table = table[table["source"] == "s"]
        hits += ((table["prevalence_low"] <= truth) & (truth <= table["prevalence_high"])).sum()
        total += len(table)
    assert hits / total >= 0.90, hits / total


def test_interval_widens_when_a_period_has_few_passages():
    rates = ErrorRates(0.85, 0.05, 100, 400)
    p, low, high = corrected_prevalence([3, 30, 300, 3000], [10, 100, 1000, 10000], rates)
    width = high - low
    assert np.allclose(p, p[0])  # the same share everywhere
    assert list(width) == sorted(width, reverse=True) and width[0] > 3 * width[2]
    assert (low <= p).all() and (p <= high).all()


def test_values_stay_in_0_1_and_are_empty_without_passages_or_rates():
    rates = ErrorRates(0.9, 0.2, 50, 50)
    p, low, high = corrected_prevalence([0, 10, 0], [10, 10, 0], rates)
    assert p[0] == 0.0 and low[0] == 0.0 and 0 < high[0] <= 1  # fewer tags than false positives alone: 0
    assert p[1] == 1.0 and high[1] == 1.0 and 0 <= low[1] < 1
    assert math.isnan(p[2]) and math.isnan(low[2]) and math.isnan(high[2])
    p, low, high = corrected_prevalence([5], [10], None)
    assert math.isnan(p[0]) and math.isnan(low[0]) and math.isnan(high[0])


def _model(per_theme: dict, passages: int = 100) -> dict:
    return {"metrics": {"heldout": {"per_theme": per_theme, "passages": passages}}}


def test_error_rates_from_model_json():
    model = _model({"cyber": {"precision": 0.8, "recall": 0.9, "support": 20, "tpr": 0.9, "fpr": 0.05, "negatives": 80}})
    rates, warnings = error_rates(model, ["cyber"])
    assert rates == {"cyber": ErrorRates(0.9, 0.05, 20, 80, "seed")} and warnings == [SEED_RATES_WARNING]


def test_error_rates_measured_on_analysts_real_text_are_preferred_and_named():
    model = _model({"cyber": {"precision": 0.8, "recall": 0.9, "support": 20, "tpr": 0.9, "fpr": 0.05, "negatives": 80}})
    model["error_rates"] = {"source": "analyst", "passages": 120,
                            "per_theme": {"cyber": {"tpr": 0.8, "fpr": 0.1, "support": 30, "negatives": 90}}}
    rates, warnings = error_rates(model, ["cyber"])
    assert rates == {"cyber": ErrorRates(0.8, 0.1, 30, 90, "analyst")} and warnings == []
    # measured on the seed split: the rates are used, and the run warns that they flatter the model
    model["error_rates"]["source"] = "seed"
    rates, warnings = error_rates(model, ["cyber"])
    assert rates["cyber"].source == "seed" and warnings == [SEED_RATES_WARNING]


def test_error_rates_of_a_version_trained_before_fpr_was_recorded():
    # 20 positives, recall 0.9: 18 true positives; precision 0.75: 6 false positives among 80 negatives.
    rates, warnings = error_rates(_model({"cyber": {"precision": 0.75, "recall": 0.9, "support": 20}}), ["cyber"])
    assert rates["cyber"].tpr == 0.9 and rates["cyber"].negatives == 80
    assert rates["cyber"].fpr == pytest.approx(6 / 80)
    assert warnings == [SEED_RATES_WARNING]


def test_themes_without_usable_rates_get_a_warning_and_no_prevalence():
    model = _model({
        "cyber": {"precision": 0.5, "recall": 0.3, "support": 10, "tpr": 0.3, "fpr": 0.25, "negatives": 90},
        "bmd": {"precision": 0.0, "recall": 0.0, "support": 0, "tpr": 0.0, "fpr": 0.0, "negatives": 100},
    })
    rates, warnings = error_rates(model, ["bmd", "cyber", "newtheme"])
    assert rates == {}
    assert len(warnings) == 3
    assert "'bmd'" in warnings[0] and "no held-out positives" in warnings[0]
    assert "'cyber'" in warnings[1] and "too close" in warnings[1]
    assert "'newtheme'" in warnings[2]
