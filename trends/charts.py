"""PNG charts of the trend tables: corrected prevalence with its 95% interval, and the raw share.

Charts are drawn from yearly totals over the whole history (a month of a small source holds a
handful of passages: its interval would fill the chart) and from months for the recent past.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from policytrends.files import write_atomic
from policytrends.trends.tables import ALL

COLOURS = ["#1f5f99", "#c0392b", "#2e8b57", "#8e44ad", "#d4850f", "#16a0a0", "#7f6a00", "#555555"]
RECENT_MONTHS = 24


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    try:
        write_atomic(path, fig.savefig)
    finally:
        _pyplot().close(fig)


def _x(frame: pd.DataFrame) -> np.ndarray:
    """Dates for months; plain decimal years for yearly charts (date units on dozens of shared
    panels cost seconds)."""
    start = pd.to_datetime(frame["period_start"])
    if frame.get("period") is not None and frame["period"].astype(str).str.fullmatch(r"\d{4}").all():
        return (start.dt.year + (start.dt.dayofyear - 1) / 365.25).to_numpy(float)
    return start.to_numpy()


def _band(ax, frame: pd.DataFrame, colour: str, label: str, raw: bool = False, band_label: str | None = None) -> None:
    """Corrected prevalence (line) in its 95% interval (band); the raw share dotted if ``raw``."""
    x = _x(frame)
    if frame["prevalence"].notna().any():
        ax.fill_between(x, frame["prevalence_low"] * 100, frame["prevalence_high"] * 100, color=colour, alpha=0.18, lw=0,
                        label=band_label)
        ax.plot(x, frame["prevalence"] * 100, color=colour, marker="o", ms=3, lw=1.6, label=label)
        # Whiskers too: a band needs two neighbouring periods, a lone period still shows its interval.
        ax.vlines(x, frame["prevalence_low"] * 100, frame["prevalence_high"] * 100, color=colour, alpha=0.45, lw=0.9)
        if raw:
            ax.plot(x, frame["share"] * 100, color=colour, ls=":", lw=1.1, label="raw share")
    else:  # no validated error rates for this theme: the raw share only
        ax.plot(x, frame["share"] * 100, color=colour, ls=":", marker="o", ms=3, lw=1.2, label=f"{label} (raw share)")
    incomplete = frame[frame["complete"] == False]  # noqa: E712 (nullable boolean)
    if len(incomplete) and incomplete["prevalence"].notna().any():
        ax.plot(_x(incomplete), incomplete["prevalence"] * 100, ls="none", marker="o", ms=6, mfc="white", mec=colour)


def _style(ax, title: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel("% of passages", fontsize=8)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def _prevalence_panels(plt, df: pd.DataFrame):
    """One panel per theme of ``df`` (all sources): corrected prevalence, its 95% band and the raw share."""
    themes = sorted(df["theme"].unique())
    fig, axes = _panels(plt, len(themes))
    for ax, (i, theme) in zip(axes.flat, enumerate(themes), strict=False):
        _band(ax, df[df["theme"] == theme], COLOURS[i % len(COLOURS)], "corrected prevalence", raw=True,
              band_label="95% interval")
        _style(ax, theme)
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    _top(axes, df)
    return fig, axes


def overall_chart(yearly: pd.DataFrame, path: Path, model_version: str) -> None:
    """One panel per theme, all sources together, per year: corrected prevalence with its 95%
    interval (band) and the raw share of tagged passages (dotted)."""
    plt = _pyplot()
    df = yearly[yearly["source"] == ALL]
    fig, axes = _prevalence_panels(plt, df)
    fig.suptitle(f"Theme prevalence per year, all sources (model {model_version})", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def by_source_chart(yearly: pd.DataFrame, path: Path, model_version: str) -> None:
    """A grid of panels, one row per source and one column per theme: corrected prevalence per
    year with its 95% interval, and the raw share."""
    plt = _pyplot()
    df = yearly[yearly["source"] != ALL]
    sources = sorted(df["source"].unique())
    themes = sorted(df["theme"].unique())
    fig, axes = plt.subplots(len(sources), len(themes), figsize=(2.6 * len(themes) + 1, 2.1 * len(sources) + 0.8), dpi=100,
                             squeeze=False, sharex=True, sharey=True)
    for r, source in enumerate(sources):
        for c, theme in enumerate(themes):
            ax = axes[r, c]
            sub = df[(df["source"] == source) & (df["theme"] == theme)]
            _band(ax, sub, COLOURS[c % len(COLOURS)], "corrected prevalence", raw=True, band_label="95% interval")
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            # Few ticks: building tick objects is most of the time a large grid of panels takes.
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            if r == 0:
                ax.set_title(theme, fontsize=10)
            if c == 0:
                ax.set_ylabel(f"{source}\n% of passages", fontsize=8)
    _top(axes, df, shared=True)
    fig.suptitle(f"Theme prevalence per year and source; band: 95% interval, dotted: raw share (model {model_version})",
                 fontsize=10)
    # Fixed margins: tight_layout measures every tick label of every panel, seconds for a big grid.
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.9 / fig.get_figwidth(), right=0.98, bottom=0.45 / height, top=1 - 0.75 / height,
                        wspace=0.08, hspace=0.12)
    _save(fig, path)


def recent_chart(monthly: pd.DataFrame, path: Path, model_version: str, months: int = RECENT_MONTHS) -> None:
    """All sources together, the last ``months`` months, one panel per theme: corrected prevalence
    with its interval and the raw share; hollow markers flag months not yet complete, and a
    month without documents leaves a gap."""
    plt = _pyplot()
    df = monthly[monthly["source"] == ALL]
    keep = sorted(df["period"].unique())[-months:]
    df = df[df["period"].isin(keep)]
    fig, axes = _prevalence_panels(plt, df)
    for ax in axes.flat:
        ax.tick_params(axis="x", labelrotation=30)
    fig.suptitle(f"Theme prevalence per month, last {len(keep)} months, all sources (model {model_version})", fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def _panels(plt, count: int):
    cols = 2 if count > 1 else 1
    rows = max(1, math.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(10, 3.2 * rows), dpi=100, squeeze=False, sharex=True)
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    return fig, axes


def _top(axes, frame: pd.DataFrame, shared: bool = False) -> None:
    """The same y range on every panel, up to the highest interval end (so no band is cut)."""
    values = pd.concat([frame["prevalence_high"], frame["share"]]).dropna()
    top = min(100.0, max(5.0, float(values.max()) * 105)) if len(values) else 100.0
    for ax in axes.flat[:1] if shared else axes.flat:  # shared axes follow the first one
        ax.set_ylim(0, top)
