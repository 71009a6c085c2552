"""The pipeline's steps as plain functions (crawl, segment, classify, aggregate) and their order.

Prefect flows (``flows/``) and the CLI call these; tests call them directly. Each takes a
:class:`Settings` and returns a small dict of counts, never large objects. :func:`run_stages`
is the one place the nightly sequence is written: the flow runs it with Prefect tasks,
``policytrends.direct`` with the plain steps.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from policytrends.corpus.segment import segment_store
from policytrends.corpus.store import CorpusStore
from policytrends.errors import PolicyTrendsError
from policytrends.models.labels import SEED_LABELS
from policytrends.settings import Settings

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
    from policytrends.crawlers.run import crawl, failed_count

    CorpusStore(settings.db_url)  # fail here, with a clear message, if the store cannot open
    report = crawl(sources_file, settings.db_url, settings.crawl_dir, only=only, processes=settings.crawl_processes)
    for warning in report.warnings:
        log.warning(warning)
    for note in report.notes:  # big sites spread over nights: how many articles still wait
        log.info(note)
    for name, counts in sorted(report.sources.items()):
        log.info(
            "crawl %s: %d articles seen, %d downloaded, %d not modified, %d skipped by sitemap lastmod, "
            "%d new, %d updated, %d duplicates dropped, %d failed, %d blocked",
            name, counts.get("articles_seen", 0), counts.get("pages_fetched", 0), counts.get("not_modified", 0),
            counts.get("skipped_unchanged_lastmod", 0), counts.get("documents_new", 0),
            counts.get("documents_updated", 0), counts.get("duplicates_dropped", 0),
            failed_count(counts), counts.get("blocked", 0),
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
    model = registry.resolve(model_version)
    counts = classify_store(CorpusStore(settings.db_url), model)
    log.info("classify: %d new passages tagged by %s", counts["passages_classified"], model.version)
    return {**counts, "model_version": model.version}


def aggregate_step(settings: Settings, model_version: str | None = None) -> dict:
    """Trend tables (CSV and Parquet), charts and ``report.html`` for one model version (default: current)."""
    from policytrends.models.registry import Registry
    from policytrends.trends.build import build_outputs

    registry = Registry(settings.registry_dir)
    model = registry.resolve(model_version)
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


# ----------------------------------------------------------------------------- the nightly sequence
@dataclass(frozen=True)
class Stages:
    """How each stage of a run is carried out: the plain steps (:meth:`plain`), or the nightly flow's tasks."""

    crawl: Callable[[Path], dict]
    segment: Callable[[], dict]
    model: Callable[[], str]
    classify: Callable[[str], dict]
    aggregate: Callable[[str], dict]

    @classmethod
    def plain(cls, settings: Settings) -> Stages:
        return cls(crawl=lambda src: crawl_step(settings, src), segment=lambda: checked_segment_step(settings),
                   model=lambda: ensure_model(settings), classify=lambda v: classify_step(settings, v),
                   aggregate=lambda v: aggregate_step(settings, v))


def checked_segment_step(settings: Settings) -> dict:
    """:func:`segment_step`, after refusing an empty store (a crawl that stored nothing is an error, not a quiet night)."""
    require_documents(settings)
    return segment_step(settings)


def run_stages(settings: Settings, sources_file: Path | None, stages: Stages) -> dict:
    """crawl → segment → (model) → classify → aggregate; the stage results, the model and the seconds each stage took."""
    started = time.time()
    seconds: dict[str, float] = {}
    last = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal last
        now = time.perf_counter()
        seconds[stage] = round(now - last, 2)
        last = now

    with sources_for_run(settings, sources_file) as src:
        crawled = stages.crawl(src)
    lap("crawl")
    segmented = stages.segment()
    lap("segment")
    version = stages.model()
    lap("model")
    classified = stages.classify(version)
    lap("classify")
    tables = stages.aggregate(version)
    lap("aggregate")
    return {"seconds": round(time.time() - started, 1), "stage_seconds": seconds, "model_version": version,
            "crawl": crawled, "segment": segmented, "classify": classified, "tables": tables,
            "store": store_totals(settings)}

