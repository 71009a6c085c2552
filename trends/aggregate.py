"""Trend tables from passage predictions: tidy CSV, one row per (period, source, theme).

Only one model version feeds a table (its name is in every row), so numbers from two
classifiers are never mixed. Documents without a publication date cannot be placed in
time: they are left out of the periods and counted in the summary.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from policytrends.errors import PolicyTrendsError

ALL = "ALL"
MONTHLY_COLUMNS = [
    "period", "source", "theme", "passages", "documents", "theme_passages", "theme_documents",
    "share", "doc_share", "mean_probability", "model_version",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _with_all(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame.assign(source=ALL)], ignore_index=True)


def build_monthly(pred: pd.DataFrame, model_version: str) -> pd.DataFrame:
    """Monthly table from one row per (passage, theme) with columns ``passage_id``,
    ``document_id``, ``source``, ``published``, ``theme``, ``probability``, ``label``.

    Every source gets a row for each month from its first to its last dated document, so a
    month with no documents shows ``passages`` 0 and an empty share instead of vanishing.
    """
    dated = pred.dropna(subset=["published"]).copy()
    if dated.empty:
        return pd.DataFrame(columns=MONTHLY_COLUMNS)
    dated["period"] = pd.to_datetime(dated["published"]).dt.to_period("M")
    dated["label"] = dated["label"].astype(bool)
    dated = _with_all(dated)

    # Passages and documents per (period, source): counted once, not once per theme.
    base = dated.drop_duplicates(["source", "passage_id"])
    volume = base.groupby(["period", "source"]).agg(passages=("passage_id", "nunique"), documents=("document_id", "nunique"))
    tagged = dated[dated["label"]]
    hits = tagged.groupby(["period", "source", "theme"]).agg(
        theme_passages=("passage_id", "nunique"), theme_documents=("document_id", "nunique"))
    prob = dated.groupby(["period", "source", "theme"])["probability"].mean().rename("mean_probability")

    themes = sorted(dated["theme"].unique())
    rows = []
    for source, periods in dated.groupby("source")["period"]:
        months = pd.period_range(periods.min(), periods.max(), freq="M")
        rows.append(pd.MultiIndex.from_product([months, [source], themes], names=["period", "source", "theme"]).to_frame(index=False))
    grid = pd.concat(rows, ignore_index=True)
    out = grid.merge(volume.reset_index(), on=["period", "source"], how="left")
    out = out.merge(hits.reset_index(), on=["period", "source", "theme"], how="left")
    out = out.merge(prob.reset_index(), on=["period", "source", "theme"], how="left")
    for col in ("passages", "documents", "theme_passages", "theme_documents"):
        out[col] = out[col].fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(out["passages"] > 0, out["theme_passages"] / out["passages"].where(out["passages"] > 0), np.nan)
        out["doc_share"] = np.where(out["documents"] > 0, out["theme_documents"] / out["documents"].where(out["documents"] > 0), np.nan)
    out["share"] = out["share"].round(4)
    out["doc_share"] = out["doc_share"].round(4)
    out["mean_probability"] = out["mean_probability"].round(4)
    out["period"] = out["period"].astype(str)
    out["model_version"] = model_version
    order = {s: (s == ALL, s) for s in out["source"].unique()}
    out = out.sort_values(["period", "source", "theme"], key=lambda c: c.map(order) if c.name == "source" else c)
    return out[MONTHLY_COLUMNS].reset_index(drop=True)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would run as a formula with a quote."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


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


def share_chart(monthly: pd.DataFrame, path: Path) -> None:
    """Yearly share of passages per theme, all sources together."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = monthly[monthly["source"] == ALL].copy()
    df["year"] = df["period"].str[:4].astype(int)
    yearly = df.groupby(["year", "theme"])[["theme_passages", "passages"]].sum()
    share = (yearly["theme_passages"] / yearly["passages"].where(yearly["passages"] > 0)).unstack("theme")
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    for theme in share.columns:
        ax.plot(share.index, share[theme] * 100, marker="o", label=theme)
    ax.set_ylabel("% of passages")
    ax.set_xlabel("year of publication")
    ax.set_title(f"Theme share of passages, all sources ({monthly['model_version'].iloc[0]})")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, ncol=min(4, len(share.columns)))
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


def build_tables(store, model_version: str, outputs_dir: Path, monthly_name: str, chart_name: str) -> dict:
    """Rebuild the trend tables for ``model_version`` from the store; returns a summary."""
    versions = store.model_versions_with_predictions()
    if model_version not in versions:
        if store.count("passages") == 0:
            raise PolicyTrendsError("the corpus store holds no passages yet: nothing to aggregate (run `policytrends crawl` or `policytrends run` first)")
        raise PolicyTrendsError(f"no predictions by model {model_version} in the store (run `policytrends run` to classify the passages)")
    pred = store.prediction_frame(model_version)
    monthly = build_monthly(pred, model_version)
    write_csv_atomic(monthly, outputs_dir / monthly_name)
    if not monthly.empty:
        share_chart(monthly, outputs_dir / chart_name)
    undated = pred.loc[pred["published"].isna(), "document_id"].nunique()
    return {
        "model_version": model_version,
        "rows": len(monthly),
        "periods": int(monthly["period"].nunique()) if not monthly.empty else 0,
        "sources": sorted(s for s in monthly["source"].unique() if s != ALL) if not monthly.empty else [],
        "undated_documents": int(undated),
        "share_by_theme": overall_shares(pred),
    }
