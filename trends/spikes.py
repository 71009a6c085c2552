"""Spikes: periods where a theme's share departs from its own recent history.

For each (source, theme) series the baseline is the median share of the trailing ``window``
periods that have at least ``min_passages`` passages, and the spread is their median absolute
deviation (MAD, scaled by 1.4826 to match a standard deviation for normal data). The score is

    score = (share - baseline) / sqrt((1.4826 * MAD)^2 + b(1 - b) / n)

where the second term is the sampling noise of the period's own ``n`` passages (``b`` is the
baseline share with one passage added each way, so a baseline of 0 still has some noise).
A period is a spike when ``|score| >= threshold``, it has at least ``min_passages``
passages, the share moved by at least ``min_change``, and, for a rise, at least
``min_theme_passages`` passages carry the theme. Medians and MADs ignore one-off outliers in
the history, so a single earlier spike does not hide the next one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

SPIKE_COLUMNS = [
    "granularity", "period", "source", "theme", "direction", "score", "share", "baseline", "mad", "change",
    "relative_change", "passages", "theme_passages", "history_periods", "complete", "model_version",
]


@dataclass(frozen=True)
class SpikeRule:
    window: int = 12  # trailing periods that form the baseline
    min_history: int = 6  # periods with enough passages needed in the window
    min_passages: int = 20  # the minimum-count guard: fewer passages say too little
    min_theme_passages: int = 5  # a rise must rest on at least this many tagged passages
    min_change: float = 0.05  # in share (5 percentage points)
    threshold: float = 3.5  # robust z-score


def find_spikes(table: pd.DataFrame, granularity: str, rule: SpikeRule = SpikeRule()) -> pd.DataFrame:
    """Spikes in a trend table (weekly or monthly, as built by :func:`trends.tables.trend_table`)."""
    if table.empty:
        return pd.DataFrame(columns=SPIKE_COLUMNS)
    found = []
    for (source, theme), series in table.groupby(["source", "theme"], sort=False):
        n_all = series["passages"].to_numpy(np.int64)
        valid = np.flatnonzero(n_all >= rule.min_passages)
        if len(valid) <= rule.min_history:
            continue
        n = n_all[valid]
        k = series["theme_passages"].to_numpy(np.int64)[valid]
        share = k / n
        # Row i of `history` holds the (up to) `window` valid shares before valid period i.
        padded = np.concatenate([np.full(rule.window, np.nan), share])
        history = sliding_window_view(padded, rule.window)[: len(share)]
        count = np.sum(~np.isnan(history), axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows at the start of a series
            base = np.nanmedian(history, axis=1)
            mad = np.nanmedian(np.abs(history - base[:, None]), axis=1)
        smoothed = (base * n + 1) / (n + 2)
        scale = np.sqrt((1.4826 * mad) ** 2 + smoothed * (1 - smoothed) / n)
        change = share - base
        score = change / scale
        hit = ((count >= rule.min_history) & (np.abs(score) >= rule.threshold) & (np.abs(change) >= rule.min_change)
               & ~((change > 0) & (k < rule.min_theme_passages)))
        rows = series.iloc[valid[hit]]
        for (_, row), i in zip(rows.iterrows(), np.flatnonzero(hit), strict=True):
            found.append({
                "granularity": granularity, "period": row["period"], "source": source, "theme": theme,
                "direction": "up" if change[i] > 0 else "down", "score": round(float(score[i]), 2),
                "share": round(float(share[i]), 4), "baseline": round(float(base[i]), 4), "mad": round(float(mad[i]), 4),
                "change": round(float(change[i]), 4),
                "relative_change": round(float(change[i] / base[i]), 4) if base[i] > 0 else np.nan,
                "passages": int(n[i]), "theme_passages": int(k[i]), "history_periods": int(count[i]),
                "complete": row.get("complete", pd.NA), "model_version": row["model_version"],
            })
    if not found:
        return pd.DataFrame(columns=SPIKE_COLUMNS)
    out = pd.DataFrame(found, columns=SPIKE_COLUMNS)
    out["complete"] = out["complete"].astype("boolean")
    return out.sort_values(["period", "source", "theme"], kind="stable").reset_index(drop=True)
