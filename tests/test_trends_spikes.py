"""Spike detection: a planted spike is found, a flat series yields none, thin periods are ignored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from policytrends.trends.spikes import SPIKE_COLUMNS, SpikeRule, find_spikes


def _series(shares, passages, theme="cyber", source="s", start="2020-01") -> pd.DataFrame:
    """A monthly trend table for one source and theme, counts drawn from the given shares."""
    periods = pd.period_range(start, periods=len(shares), freq="M").astype(str)
    n = np.asarray(passages, dtype=int)
    k = np.round(np.asarray(shares) * n).astype(int)
    return pd.DataFrame({"period": periods, "source": source, "theme": theme, "passages": n, "theme_passages": k,
                         "complete": True, "model_version": "v1"})


def _noisy(base: float, months: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    passages = rng.integers(n // 2, n * 2, months)
    return rng.binomial(passages, base) / passages, passages


def test_planted_spike_is_found_with_its_size():
    shares, passages = _noisy(0.12, 36, 120, seed=1)
    shares[30] = 0.40
    table = pd.concat([_series(shares, passages), _series(_noisy(0.3, 36, 120, seed=2)[0], passages, theme="bmd")])
    spikes = find_spikes(table, "month")
    assert list(spikes.columns) == SPIKE_COLUMNS
    assert len(spikes) == 1
    spike = spikes.iloc[0]
    assert (spike["period"], spike["theme"], spike["source"], spike["direction"]) == ("2022-07", "cyber", "s", "up")
    assert spike["score"] >= 3.5
    assert abs(spike["baseline"] - 0.12) < 0.03
    assert abs(spike["change"] - (0.40 - spike["baseline"])) < 0.01
    assert spike["history_periods"] == 12 and spike["granularity"] == "month" and spike["model_version"] == "v1"


def test_a_drop_is_found_too():
    shares, passages = _noisy(0.35, 30, 150, seed=3)
    shares[25] = 0.02
    spikes = find_spikes(_series(shares, passages), "month")
    assert spikes[["period", "direction"]].values.tolist() == [["2022-02", "down"]]


def test_flat_series_yield_no_spikes():
    tables = [_series(*_noisy(base, 60, n, seed=10 + i), theme=f"t{i}")
              for i, (base, n) in enumerate([(0.1, 40), (0.25, 200), (0.5, 1000), (0.02, 300), (0.0, 100)])]
    tables.append(_series(np.full(60, 0.2), np.full(60, 50), theme="constant"))
    spikes = find_spikes(pd.concat(tables), "month")
    assert spikes.empty and list(spikes.columns) == SPIKE_COLUMNS


def test_periods_with_few_passages_are_not_spikes_nor_history():
    shares, passages = _noisy(0.1, 30, 100, seed=4)
    shares[20], passages[20] = 0.9, 10  # 9 of 10 passages: below the 20-passage guard
    shares[24], passages[24] = 0.6, 10
    assert find_spikes(_series(shares, passages), "month").empty


def test_a_rise_needs_enough_tagged_passages():
    # From 0 to 4 of 25 passages (16%): a big relative jump resting on four passages.
    shares, passages = np.zeros(20), np.full(20, 25)
    shares[15] = 4 / 25
    assert find_spikes(_series(shares, passages), "month").empty
    shares[15] = 8 / 25
    assert find_spikes(_series(shares, passages), "month")["period"].tolist() == ["2021-04"]


def test_too_little_history_yields_nothing():
    shares, passages = _noisy(0.1, 6, 100, seed=5)
    shares[5] = 0.8
    assert find_spikes(_series(shares, passages), "month").empty  # five earlier periods: fewer than six
    assert len(find_spikes(_series(shares, passages), "month", SpikeRule(min_history=5))) == 1
