"""Rebuild every trend output from the store for one model version.

``build_outputs`` is what the pipeline's aggregate step calls. It asks
:class:`trends.reading.StoreReader` (the one place that reads the store; it reads only new
predictions and refuses to mix model versions) for frames, builds the tables from them,
writes each as CSV and Parquet, draws the charts and writes ``report.html``. Nothing here
touches the database: the tables, spikes, evidence, charts and report only take frames.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from policytrends.errors import PolicyTrendsError
from policytrends.faults import checkpoint
from policytrends.files import write_atomic, write_csv_atomic
from policytrends.trends import charts
from policytrends.trends import outputs as S
from policytrends.trends.prevalence import error_rates
from policytrends.trends.reading import StoreReader
from policytrends.trends.report import write_report
from policytrends.trends.spikes import find_spikes
from policytrends.trends.tables import (
    ALL,
    cooccurrence,
    coverage_table,
    crawl_cutoffs,
    document_stats,
    evidence_candidates,
    evidence_table,
    trend_table,
)

log = logging.getLogger("policytrends.trends")

# (CSV, Parquet) name of each table; the CSV is for spreadsheets, the Parquet for code.
TABLES = {
    "weekly": (S.THEME_TRENDS_WEEKLY, S.THEME_TRENDS_WEEKLY_PARQUET),
    "monthly": (S.THEME_TRENDS_MONTHLY, S.THEME_TRENDS_MONTHLY_PARQUET),
    "spikes": (S.THEME_SPIKES, S.THEME_SPIKES_PARQUET),
    "cooccurrence": (S.THEME_COOCCURRENCE, S.THEME_COOCCURRENCE_PARQUET),
    "evidence": (S.THEME_EVIDENCE, S.THEME_EVIDENCE_PARQUET),
    "coverage": (S.SOURCE_COVERAGE, S.SOURCE_COVERAGE_PARQUET),
}


def _write(frame: pd.DataFrame, outputs_dir: Path, names: tuple[str, str]) -> None:
    csv_name, parquet_name = names
    write_csv_atomic(frame, outputs_dir / csv_name)
    write_atomic(outputs_dir / parquet_name, lambda tmp: frame.to_parquet(tmp, index=False))


def _drop_future_dates(docs: pd.DataFrame, now: datetime) -> list[str]:
    """A publication date after today is an extraction error: treat it as unknown (in place)."""
    today = pd.Timestamp(now.astimezone(UTC).date())
    future = docs["published"] > today + pd.Timedelta(days=1)  # a day of slack for time zones
    if not future.any():
        return []
    docs.loc[future, "published"] = pd.NaT
    sources = ", ".join(sorted(docs.loc[future, "source"].unique()))
    return [f"{int(future.sum())} documents ({sources}) are dated after {today.date()}, in the future: "
            "treated as undated (check their date extraction)"]


def _undated_warnings(docs: pd.DataFrame) -> list[str]:
    out = []
    for source, group in docs.groupby("source"):
        undated = int(group["published"].isna().sum())
        if undated == len(group):
            out.append(f"source {source!r}: none of its {undated} documents has a publication date, so it is missing from "
                       "the trend tables (see source_coverage.csv; check its date extraction)")
        elif undated:
            out.append(f"source {source!r}: {undated} of {len(group)} documents have no publication date and are left out "
                       "of the trend tables")
    return out


def build_outputs(store, model: dict, outputs_dir: Path, now: datetime | None = None, snapshot: bool = True) -> dict:
    """Rebuild all trend outputs for the model version described by ``model`` (its ``model.json``).

    Returns a summary: the monthly table's ``rows``, ``periods`` and ``sources``, the overall
    ``share_by_theme``, ``undated_documents``, the rows of every table, ``warnings``.
    """
    version = model["version"]
    now = now or datetime.now(UTC)
    clock = {"started": time.perf_counter()}

    def lap(stage: str) -> None:
        clock[stage] = round(time.perf_counter() - clock.pop("started"), 3)
        clock["started"] = time.perf_counter()

    outputs_dir = Path(outputs_dir)
    reader = StoreReader(store)
    if not reader.has_predictions(version):
        if reader.passage_count() == 0:
            raise PolicyTrendsError("the corpus store holds no passages yet: nothing to aggregate "
                                    "(run `policytrends crawl` or `policytrends run` first)")
        raise PolicyTrendsError(f"no predictions by model {version} in the store (run `policytrends run` to classify the passages)")
    themes = [str(t) for t in model["themes"]]
    rates, rate_warnings = error_rates(model, themes)
    docs = reader.documents()
    pp, rows_read = reader.predictions(version, themes, outputs_dir / S.PREDICTION_SNAPSHOTS if snapshot else None)
    warnings = _drop_future_dates(docs, now) + _undated_warnings(docs) + rate_warnings  # the corpus first, then the model
    lap("read")
    checkpoint("aggregate.read")

    stats = document_stats(pp, docs)
    cutoffs = crawl_cutoffs(docs, now)
    weekly = trend_table(stats, themes, "week", version, rates, cutoffs)
    monthly = trend_table(stats, themes, "month", version, rates, cutoffs)
    yearly = trend_table(stats, themes, "year", version, rates, cutoffs)
    spikes = pd.concat([find_spikes(weekly, "week"), find_spikes(monthly, "month")], ignore_index=True)
    lap("trend_tables")
    cand = evidence_candidates(pp, docs)
    evidence = evidence_table(cand, docs, reader.document_details(cand["document_id"]), reader.passage_texts(cand["passage_id"]),
                              version)
    lap("evidence")
    tables = {
        "weekly": weekly, "monthly": monthly, "spikes": spikes,
        "cooccurrence": cooccurrence(pp, stats, docs, version), "evidence": evidence,
        "coverage": coverage_table(docs, cutoffs),
    }
    lap("other_tables")
    for key, frame in tables.items():
        _write(frame, outputs_dir, TABLES[key])
        checkpoint("aggregate.table")
    lap("write")
    checkpoint("aggregate.report")

    chart_specs = [
        (S.THEME_SHARE_CHART, charts.overall_chart, yearly, "Theme prevalence per year, all sources",
         "Corrected prevalence per year (line) with its 95% interval (band) and the raw share (dotted), all sources together."),
        (S.THEME_SHARE_BY_SOURCE_CHART, charts.by_source_chart, yearly, "Theme prevalence per year and source",
         "Corrected prevalence per year for each source, bands: 95% interval."),
        (S.THEME_SHARE_RECENT_CHART, charts.recent_chart, monthly, "Theme prevalence, recent months",
         "The last 24 months, all sources together; hollow markers: month not complete yet."),
    ]
    drawn = []
    for name, draw, frame, alt, caption in chart_specs:
        path = outputs_dir / name
        if frame.empty or not (frame["passages"] > 0).any():
            path.unlink(missing_ok=True)  # a chart of an earlier store would mislead
            continue
        draw(frame, path, version)
        drawn.append((path, alt, caption))
    write_report(outputs_dir / S.TRENDS_REPORT, model_version=version, built=now, monthly=monthly, spikes=spikes,
                 evidence=evidence, coverage=tables["coverage"], rates=rates, themes=themes, charts=drawn, warnings=warnings)
    for w in warnings:
        log.warning(w)
    lap("charts_report")
    clock.pop("started")

    tagged = pp.label.sum(axis=0)
    return {
        "model_version": version,
        "rows": len(monthly),
        "periods": int(monthly["period"].nunique()),
        "sources": sorted(s for s in monthly["source"].unique() if s != ALL),
        "undated_documents": int(docs["published"].isna().sum()),
        "share_by_theme": {t: round(float(tagged[j]) / len(pp), 4) for j, t in enumerate(themes)} if len(pp) else {},
        "tables": {TABLES[k][0]: len(v) for k, v in tables.items()},
        "spikes": len(spikes),
        "report": str(outputs_dir / S.TRENDS_REPORT),
        "prediction_rows_read": rows_read,
        "stage_seconds": clock,
        "warnings": warnings,
    }
