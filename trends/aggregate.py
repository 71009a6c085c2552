"""The monthly trend table from a frame of predictions, and safe CSV writing.

Only one model version feeds a table (its name is in every row), so numbers from two
classifiers are never mixed. Documents without a publication date cannot be placed in
time: they are left out of the periods and counted in the summary.

The full set of outputs (weekly and monthly tables with corrected prevalence, spikes,
co-occurrence, evidence, coverage, charts and the report) is built by :mod:`trends.build`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
from policytrends.trends.tables import ALL, MONTHLY_COLUMNS

__all__ = ["ALL", "MONTHLY_COLUMNS", "build_monthly", "neutralise_formulas", "overall_shares", "restore_formulas", "write_csv_atomic"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def build_monthly(pred: pd.DataFrame, model_version: str) -> pd.DataFrame:
    """Monthly table from one row per (passage, theme) with columns ``passage_id``,
    ``document_id``, ``source``, ``published``, ``theme``, ``probability``, ``label``.

    Every source gets a row for each month from its first to its last dated document, so a
    month with no documents shows ``passages`` 0 and an empty share instead of vanishing.
    Only the original columns (:data:`MONTHLY_COLUMNS`): corrected prevalence needs the
    model's error rates and ``complete`` the crawl dates, which :mod:`trends.build` reads.
    """
    from policytrends.trends.reading import PassagePredictions
    from policytrends.trends.tables import document_stats, trend_table

    if pred.empty:
        return pd.DataFrame(columns=MONTHLY_COLUMNS)
    pp = PassagePredictions.from_long(pred)
    docs = pred.drop_duplicates("document_id")[["document_id", "source", "published"]].assign(
        published=lambda d: pd.to_datetime(d["published"]), source=lambda d: d["source"].astype(str))
    table = trend_table(document_stats(pp, docs), pp.themes, "month", model_version)
    return table[MONTHLY_COLUMNS].reset_index(drop=True)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would run as a formula with a quote."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            try:  # vectorised for text columns (tens of thousands of passages in the evidence table)
                risky = out[col].str.startswith(_FORMULA_START, na=False).astype(bool)
            except AttributeError:  # an object column holding other things too: cell by cell
                out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
                continue
            if risky.any():
                out[col] = out[col].astype(object)
                out.loc[risky, col] = "'" + out.loc[risky, col].astype(str)
    return out


def restore_formulas(values: pd.Series) -> pd.Series:
    """Undo :func:`neutralise_formulas` on text read back from one of our CSVs.

    A passage from the label queue that starts with ``-`` is written as ``'-...``; when the
    analyst's labelled copy comes back to ``train``, the passage must be the stored text again,
    or it would not match its embedding, its hash or the held-out split.
    """
    starts = "".join(re.escape(c) for c in _FORMULA_START)
    return values.str.replace(f"^'(?=[{starts}])", "", n=1, regex=True)


def write_csv_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write, then rename: a reader never sees a half-written table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    neutralise_formulas(df).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    os.replace(tmp, path)


def overall_shares(pred: pd.DataFrame) -> dict[str, float]:
    """Share of all stored passages tagged with each theme."""
    if pred.empty:
        return {}
    n = pred["passage_id"].nunique()
    tagged = pred[pred["label"].astype(bool)].groupby("theme")["passage_id"].nunique()
    return {t: round(float(tagged.get(t, 0)) / n, 4) for t in sorted(pred["theme"].unique())}
