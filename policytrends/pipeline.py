"""The pipeline's steps as plain functions: crawl, segment, classify, aggregate.

Prefect flows (``flows/``) and the CLI call these; tests call them directly. Each takes a
:class:`Settings` and returns a small dict of counts, never large objects.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from corpus.segment import segment_store
from corpus.store import CorpusStore
from policytrends.errors import PolicyTrendsError
from policytrends.settings import SEED_LABELS, THEME_SPIKES, THEME_TRENDS_MONTHLY, TRENDS_REPORT, Settings

log = logging.getLogger("policytrends")


@contextlib.contextmanager
def sources_for_run(settings: Settings, sources_file: Path | None = None) -> Iterator[Path]:
    """The sources file to crawl: the given one, the configured one, or the demo sites.

    With no sources configured, the four demo think tanks are served on free loopback ports
    for the duration of the block, and a sources file pointing at them is written.
    """
    chosen = sources_file or settings.sources_file
    if chosen is not None:
        yield Path(chosen)
        return
    from crawlers.sources import DEMO_SOURCES_TEMPLATE
    from demo_sites import DemoSites

    with DemoSites() as sites:
        log.info("no sources configured: serving the demo think tanks at %s", ", ".join(sites.base_urls.values()))
        yield sites.write_sources(DEMO_SOURCES_TEMPLATE, settings.crawl_dir / "demo_sources.yaml")


def crawl_step(settings: Settings, sources_file: Path, only: list[str] | None = None) -> dict:
    """Crawl every source into the store (in a child process); per-source counts and warnings."""
    from crawlers.run import crawl

    CorpusStore(settings.db_url)  # fail here, with a clear message, if the store cannot open
    report = crawl(sources_file, settings.db_url, settings.crawl_dir, only=only)
    for warning in report.warnings:
        log.warning(warning)
    for name, counts in sorted(report.sources.items()):
        log.info(
            "crawl %s: %d articles seen, %d downloaded, %d not modified, %d skipped by sitemap lastmod, "
            "%d new, %d updated, %d duplicates dropped, %d extraction failures, %d HTTP failures",
            name, counts.get("articles_seen", 0), counts.get("pages_fetched", 0), counts.get("not_modified", 0),
            counts.get("skipped_unchanged_lastmod", 0), counts.get("documents_new", 0),
            counts.get("documents_updated", 0), counts.get("duplicates_dropped", 0),
            counts.get("extraction_failed", 0), sum(v for k, v in counts.items() if k.startswith("failed/")),
        )
    return {"sources": report.sources, "warnings": report.warnings, "exit_code": report.exit_code}


def segment_step(settings: Settings) -> dict:
    counts = segment_store(CorpusStore(settings.db_url))
    log.info("segment: %d documents cut into %d passages", counts["documents_segmented"], counts["passages_written"])
    return counts


def ensure_model(settings: Settings) -> str:
    """The current model version; trains the first one from the seed labels if there is none."""
    from models.registry import Registry

    registry = Registry(settings.registry_dir)
    current = registry.current()
    if current is not None:
        return current.version
    decided = [v for v in registry.versions() if v.info.get("promotion", {}).get("promoted")]
    if decided:
        # A training killed between writing its version and promoting it: finish the promotion
        # rather than train (and name) another version.
        registry.promote(decided[-1].version)
        log.info("promoted %s, whose training was interrupted before its promotion", decided[-1].version)
        return decided[-1].version
    from models.training import format_metrics, train

    log.info("no model yet: training the first one from the bundled seed labels (%s)", SEED_LABELS.name)
    result = train(SEED_LABELS, registry, store=CorpusStore(settings.db_url))
    log.info("trained %s\n%s", result.version, format_metrics(result.metrics, "held-out seed labels:"))
    return result.version


def classify_step(settings: Settings, model_version: str | None = None) -> dict:
    from models.registry import Registry
    from models.tagging import classify_store

    registry = Registry(settings.registry_dir)
    model = registry.get(model_version) if model_version else registry.require_current()
    counts = classify_store(CorpusStore(settings.db_url), model)
    log.info("classify: %d new passages tagged by %s", counts["passages_classified"], model.version)
    return {**counts, "model_version": model.version}


def aggregate_step(settings: Settings, model_version: str | None = None) -> dict:
    """Trend tables (CSV and Parquet), charts and ``report.html`` for one model version (default: current)."""
    from models.registry import Registry
    from trends.build import build_outputs

    registry = Registry(settings.registry_dir)
    model = registry.get(model_version) if model_version else registry.require_current()
    summary = build_outputs(CorpusStore(settings.db_url), {**model.info, "version": model.version}, settings.outputs_dir)
    log.info("aggregate: %d monthly rows, %d spikes; tables, charts and report in %s (%d prediction rows read from the store)",
             summary["rows"], summary["spikes"], settings.outputs_dir, summary["prediction_rows_read"])
    return summary


def store_totals(settings: Settings) -> dict:
    store = CorpusStore(settings.db_url)
    return {"documents": store.count("documents"), "passages": store.count("passages"), "by_source": store.source_counts()}


def require_documents(settings: Settings) -> None:
    if CorpusStore(settings.db_url).count("documents") == 0:
        raise PolicyTrendsError(
            "the corpus is empty: the crawl stored no documents (check the sources file and the crawl log in "
            f"{settings.crawl_dir})"
        )


def write_summary(path: Path, summary: dict) -> None:
    import json
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def format_summary(summary: dict, settings: Settings) -> str:
    """What an analyst wants to read after a run, in a few lines."""
    totals: dict[str, int] = {}
    for counts in summary["crawl"]["sources"].values():
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    store = summary["store"]
    unchanged = sum(totals.get(k, 0) for k in ("documents_unchanged", "not_modified", "skipped_unchanged_lastmod"))
    shares = ", ".join(f"{t} {v:.1%}" for t, v in summary["tables"]["share_by_theme"].items())
    lines = [
        f"policytrends run finished in {summary['seconds']:.0f} s with model {summary['model_version']}",
        f"  crawled: {totals.get('articles_seen', 0)} articles seen in {len(summary['crawl']['sources'])} sources: "
        f"{totals.get('documents_new', 0)} new, {totals.get('documents_updated', 0)} updated, "
        f"{unchanged} unchanged ({totals.get('pages_fetched', 0)} downloaded), "
        f"{totals.get('duplicates_dropped', 0)} duplicates, {totals.get('extraction_failed', 0)} not extractable",
        f"  store:   {store['documents']} documents, {store['passages']} passages "
        f"({summary['classify']['passages_classified']} newly classified)",
        f"  share of passages per theme: {shares}",
        f"  tables:  {settings.output(THEME_TRENDS_MONTHLY)} ({summary['tables']['rows']} rows, "
        f"{summary['tables']['periods']} months, sources: {', '.join(summary['tables']['sources'])})",
    ]
    if "spikes" in summary["tables"]:
        lines.append(f"  spikes:  {summary['tables']['spikes']} in {settings.output(THEME_SPIKES)}; "
                     f"report: {settings.output(TRENDS_REPORT)}")
    if summary["tables"].get("undated_documents"):
        lines.append(f"  note:    {summary['tables']['undated_documents']} documents have no date and are not in the monthly table")
    for warning in summary["tables"].get("warnings", []):
        if "publication date" not in warning:  # the undated note above says it once
            lines.append(f"  warning: {warning}")
    for warning in summary["crawl"]["warnings"]:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def train_step(settings: Settings, labels_file, force: bool = False) -> dict:
    """Train a version from ``labels_file``; promoted only if it is not worse (see models.training)."""
    from models.registry import Registry
    from models.training import format_metrics, train

    result = train(labels_file, Registry(settings.registry_dir), force=force, store=CorpusStore(settings.db_url))
    log.info("trained %s\n%s", result.version, format_metrics(result.metrics, "held-out labels:"))
    log.info(result.reason)
    return {"version": result.version, "promoted": result.promoted, "reason": result.reason,
            "macro_f1": result.metrics["macro_f1"],
            "previous": result.previous,
            "previous_macro_f1": result.previous_metrics["macro_f1"] if result.previous_metrics else None}
