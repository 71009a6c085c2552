"""The pipeline's steps as plain functions: crawl, segment, classify, aggregate.

Prefect flows (``flows/``) and the CLI call these; tests call them directly. Each takes a
:class:`Settings` and returns a small dict of counts, never large objects.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from policytrends.corpus.segment import segment_store
from policytrends.corpus.store import CorpusStore
from policytrends.errors import PolicyTrendsError
from policytrends.files import write_json_atomic
from policytrends.models.labels import SEED_LABELS
from policytrends.settings import THEME_SPIKES, THEME_TRENDS_MONTHLY, TRENDS_REPORT, Settings

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
    from policytrends.crawlers.sources import DEMO_SOURCES_TEMPLATE
    from policytrends.demo_sites import DemoSites

    with DemoSites() as sites:
        log.info("no sources configured: serving the demo think tanks at %s", ", ".join(sites.base_urls.values()))
        yield sites.write_sources(DEMO_SOURCES_TEMPLATE, settings.crawl_dir / "demo_sources.yaml")


def crawl_step(settings: Settings, sources_file: Path, only: list[str] | None = None) -> dict:
    """Crawl every source into the store (in a child process); per-source counts and warnings."""
    from policytrends.crawlers.run import crawl

    CorpusStore(settings.db_url)  # fail here, with a clear message, if the store cannot open
    report = crawl(sources_file, settings.db_url, settings.crawl_dir, only=only, processes=settings.crawl_processes)
    for warning in report.warnings:
        log.warning(warning)
    for note in report.notes:  # big sites spread over nights: how many articles still wait
        log.info(note)
    for name, counts in sorted(report.sources.items()):
        log.info(
            "crawl %s: %d articles seen, %d downloaded, %d not modified, %d skipped by sitemap lastmod, "
            "%d new, %d updated, %d duplicates dropped, %d extraction failures, %d HTTP failures",
            name, counts.get("articles_seen", 0), counts.get("pages_fetched", 0), counts.get("not_modified", 0),
            counts.get("skipped_unchanged_lastmod", 0), counts.get("documents_new", 0),
            counts.get("documents_updated", 0), counts.get("duplicates_dropped", 0),
            counts.get("extraction_failed", 0), sum(v for k, v in counts.items() if k.startswith("failed/")),
        )
    return {"sources": report.sources, "warnings": report.warnings, "notes": report.notes, "exit_code": report.exit_code}


def segment_step(settings: Settings) -> dict:
    counts = segment_store(CorpusStore(settings.db_url))
    log.info("segment: %d documents cut into %d passages", counts["documents_segmented"], counts["passages_written"])
    return counts


def ensure_model(settings: Settings) -> str:
    """The current model version; trains the first one from the seed labels if there is none."""
    from policytrends.models.registry import Registry

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
    from policytrends.models.training import format_metrics, train

    log.info("no model yet: training the first one from the bundled seed labels (%s)", SEED_LABELS.name)
    result = train(SEED_LABELS, registry, store=CorpusStore(settings.db_url))
    log.info("trained %s\n%s", result.version, format_metrics(result.metrics, "held-out seed labels:"))
    return result.version


def classify_step(settings: Settings, model_version: str | None = None) -> dict:
    from policytrends.models.registry import Registry
    from policytrends.models.tagging import classify_store

    registry = Registry(settings.registry_dir)
    model = registry.get(model_version) if model_version else registry.require_current()
    counts = classify_store(CorpusStore(settings.db_url), model)
    log.info("classify: %d new passages tagged by %s", counts["passages_classified"], model.version)
    return {**counts, "model_version": model.version}


def aggregate_step(settings: Settings, model_version: str | None = None) -> dict:
    """Trend tables (CSV and Parquet), charts and ``report.html`` for one model version (default: current)."""
    from policytrends.models.registry import Registry
    from policytrends.trends.build import build_outputs

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


def train_step(settings: Settings, labels_file, force: bool = False, new_themes=()) -> dict:
    """Train a version from ``labels_file``; promoted only if it is not worse (see models.training)."""
    from policytrends.models.registry import Registry
    from policytrends.models.training import format_metrics, train

    result = train(labels_file, Registry(settings.registry_dir), force=force, store=CorpusStore(settings.db_url),
                   new_themes=new_themes)
    log.info("trained %s\n%s", result.version, format_metrics(result.metrics, "held-out labels:"))
    log.info(result.reason)
    return {"version": result.version, "promoted": result.promoted, "reason": result.reason,
            "macro_f1": result.metrics["macro_f1"],
            "real_text_macro_f1": result.real_metrics["macro_f1"] if result.real_metrics else None,
            "seed_labels_overridden": result.overridden, "warnings": result.warnings,
            "error_rates_from": result.error_rates_from,
            "previous": result.previous,
            "previous_macro_f1": result.previous_metrics["macro_f1"] if result.previous_metrics else None}


# ----------------------------------------------------------------------------- run manifest
def build_manifest(summary: dict, run_id: str, started_at, ended_at, flow: str = "nightly") -> dict:
    """The run manifest (``outputs/run_manifest.json``): what one run did, for people and scripts.

    ``summary`` is the nightly flow's dict of stage results (crawl, segment, classify, tables,
    store); the manifest puts the run's identity and times first, then counts per stage and per
    source, every warning in one list, and keeps the stage results in full at the end.
    """
    crawl_sources = summary["crawl"]["sources"]
    totals: dict[str, int] = {}
    for counts in crawl_sources.values():
        for k, v in counts.items():
            if isinstance(v, int):
                totals[k] = totals.get(k, 0) + v
    by_source = summary["store"].get("by_source", {})
    sources = {}
    for name in sorted(set(crawl_sources) | set(by_source)):
        crawled = crawl_sources.get(name, {})
        sources[name] = {
            "articles_seen": crawled.get("articles_seen", 0),
            "pages_fetched": crawled.get("pages_fetched", 0),
            "documents_new": crawled.get("documents_new", 0),
            "documents_updated": crawled.get("documents_updated", 0),
            "documents_unchanged": crawled.get("documents_unchanged", 0)
            + crawled.get("not_modified", 0) + crawled.get("skipped_unchanged_lastmod", 0),
            "failed": crawled.get("extraction_failed", 0)
            + sum(v for k, v in crawled.items() if k.startswith("failed/") and k != "failed/blocked"),
            "blocked": crawled.get("blocked", 0),
            "waiting": crawled.get("waiting", 0),
            "documents_stored": by_source.get(name, {}).get("documents", 0),
            "passages_stored": by_source.get(name, {}).get("passages", 0),
        }
    tables = summary["tables"]
    warnings = list(summary["crawl"].get("warnings", [])) + list(tables.get("warnings", []))
    return {
        "run_id": run_id,
        "flow": flow,
        "started_at": started_at.isoformat(timespec="seconds"),
        "ended_at": ended_at.isoformat(timespec="seconds"),
        "seconds": summary["seconds"],
        "stage_seconds": summary.get("stage_seconds", {}),
        "model_version": summary["model_version"],
        "stages": {
            "crawl": {**{k: totals.get(k, 0) for k in ("articles_seen", "pages_fetched", "not_modified", "skipped_unchanged_lastmod",
                                                        "skipped_before_since", "documents_new", "documents_updated",
                                                        "documents_unchanged", "duplicates_dropped", "extraction_failed",
                                                        "blocked", "blocked_offsite", "waiting")},
                      # why pages were dropped: rejected/too_short, rejected/pdf_only, ...
                      **{k: v for k, v in sorted(totals.items()) if k.startswith("rejected/")}},
            "segment": dict(summary["segment"]),
            "classify": {"passages_classified": summary["classify"]["passages_classified"]},
            "aggregate": {"monthly_rows": tables.get("rows", 0), "months": tables.get("periods", 0),
                          "spikes": tables.get("spikes", 0), "prediction_rows_read": tables.get("prediction_rows_read", 0)},
            "store": {"documents": summary["store"]["documents"], "passages": summary["store"]["passages"]},
        },
        "sources": sources,
        "warnings": warnings,
        **{k: summary[k] for k in ("crawl", "segment", "classify", "tables", "store")},
    }


def write_manifest(path: Path, manifest: dict) -> None:
    """Write ``manifest`` as JSON atomically: a reader sees the previous file or the new one, never half of one."""
    write_json_atomic(path, manifest)


def manifest_markdown(manifest: dict) -> str:
    """The manifest as a short Markdown page: the Prefect artifact each nightly run leaves in the UI."""
    crawl = manifest["stages"]["crawl"]
    lines = [
        f"# Nightly run {manifest['run_id']}",
        "",
        f"{manifest['started_at']} to {manifest['ended_at']} ({manifest['seconds']:.0f} s), model `{manifest['model_version']}`",
        "",
        f"- crawl: {crawl['articles_seen']} articles seen, {crawl['documents_new']} new, {crawl['documents_updated']} updated, "
        f"{crawl['pages_fetched']} downloaded",
        f"- segment: {manifest['stages']['segment'].get('documents_segmented', 0)} documents cut into "
        f"{manifest['stages']['segment'].get('passages_written', 0)} passages",
        f"- classify: {manifest['stages']['classify']['passages_classified']} passages newly classified",
        f"- tables: {manifest['stages']['aggregate']['monthly_rows']} monthly rows, {manifest['stages']['aggregate']['spikes']} spikes",
        f"- store: {manifest['stages']['store']['documents']} documents, {manifest['stages']['store']['passages']} passages",
        "",
        "| source | seen | downloaded | new | updated | unchanged | failed | documents stored | passages stored |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in manifest["sources"].items():
        lines.append(f"| {name} | {c['articles_seen']} | {c['pages_fetched']} | {c['documents_new']} | {c['documents_updated']} | "
                     f"{c['documents_unchanged']} | {c['failed']} | {c['documents_stored']} | {c['passages_stored']} |")
    if manifest["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in manifest["warnings"]]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- backfill
BACKFILL_DIR = "backfill-{version}"  # tables of a version that is not the current one, beside the main ones


def backfill_classify_step(settings: Settings, since, until, model_version: str | None = None) -> dict:
    """Reclassify every passage of the documents published from ``since`` to ``until`` with one model version.

    Predictions of that version for these passages are overwritten; other versions' are kept.
    """
    from policytrends.models.registry import Registry
    from policytrends.models.tagging import classify_passages

    if since > until:
        raise PolicyTrendsError(f"--since {since} is after --until {until}; give the earlier date first")
    registry = Registry(settings.registry_dir)
    model = registry.get(model_version) if model_version else registry.require_current()
    store = CorpusStore(settings.db_url)
    segment_store(store)  # imported or updated documents not cut into passages yet
    todo = store.passages_in_date_range(since, until)
    n = classify_passages(store, model, todo, replace=True, desc=f"backfill {since} to {until} with {model.version}")
    log.info("backfill: %d passages of documents published %s to %s reclassified by %s", n, since, until, model.version)
    current = registry.current()
    return {"model_version": model.version, "current": bool(current and current.version == model.version),
            "since": str(since), "until": str(until), "passages_classified": n}


def backfill_aggregate_step(settings: Settings, model_version: str, current: bool) -> dict:
    """Rebuild the trend tables of ``model_version`` if every stored passage has its predictions.

    The current version's tables go to the outputs folder, as after a nightly run; another
    version's go to ``outputs/backfill-<version>/`` so that the tables analysts read are never
    replaced by a model that is not in use. A table never mixes versions: if passages outside
    the range lack this version's predictions, no table is written and the reason is returned.
    """
    from policytrends.models.registry import Registry
    from policytrends.trends.build import build_outputs

    model = Registry(settings.registry_dir).get(model_version)
    out = settings.outputs_dir if current else settings.outputs_dir / BACKFILL_DIR.format(version=model_version)
    existed = out.exists()
    try:
        summary = build_outputs(CorpusStore(settings.db_url), {**model.info, "version": model.version}, out)
    except PolicyTrendsError as exc:
        log.warning("backfill: tables not rebuilt: %s", exc)
        if not current and not existed:
            shutil.rmtree(out, ignore_errors=True)  # no backfill-<version>/ (only a snapshot cache) suggesting tables exist
        return {"rebuilt": False, "outputs": str(out), "reason": str(exc)}
    log.info("backfill: tables of %s rebuilt in %s (%d monthly rows)", model_version, out, summary["rows"])
    return {"rebuilt": True, "outputs": str(out), **summary}


# ----------------------------------------------------------------------------- classification in batches (Dask)
CLASSIFY_BATCH = 512  # passages per batch handed to a Dask worker: a few seconds of work each


def passage_batches(settings: Settings, model_version: str, size: int = CLASSIFY_BATCH) -> list[tuple[int, int]]:
    """The passages ``model_version`` has not classified, as (first id, last id) ranges of about ``size`` texts."""
    ids = CorpusStore(settings.db_url).unclassified_passage_ids(model_version)
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def classify_batch_step(settings: Settings, model_version: str, first_id: int, last_id: int,
                        threads: int | None = None) -> dict:
    """Classify the unclassified passages with ids in one range and store their predictions.

    Run by a Dask worker. Idempotent: a batch run twice (a retried task, a text repeated in
    another batch) finds its passages classified, or stores the same rows, which are kept once.
    """
    from policytrends.models.registry import Registry
    from policytrends.models.tagging import classify_passages

    if threads:  # several workers on one machine: one core each, not every core each
        import torch

        torch.set_num_threads(threads)
    store = CorpusStore(settings.db_url)
    model = Registry(settings.registry_dir).get(model_version)
    todo = store.unclassified_in_id_range(model_version, first_id, last_id)
    n = classify_passages(store, model, todo, desc=f"batch {first_id}-{last_id}")
    return {"first_id": first_id, "last_id": last_id, "passages_classified": n}
