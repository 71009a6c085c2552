"""The nightly flow: crawl → segment → classify → aggregate.

Each task calls one plain function of :mod:`policytrends.pipeline` and passes paths, ids
and small dicts of counts, never documents or arrays.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from policytrends import pipeline
from policytrends.settings import RUN_SUMMARY, Settings


@task(name="crawl", cache_policy=NO_CACHE)
def crawl(sources_file: str) -> dict:
    return pipeline.crawl_step(Settings(), Path(sources_file))


@task(name="segment", cache_policy=NO_CACHE)
def segment() -> dict:
    pipeline.require_documents(Settings())
    return pipeline.segment_step(Settings())


@task(name="model", cache_policy=NO_CACHE)
def current_model() -> str:
    return pipeline.ensure_model(Settings())


@task(name="classify", cache_policy=NO_CACHE)
def classify(model_version: str) -> dict:
    return pipeline.classify_step(Settings(), model_version)


@task(name="aggregate", cache_policy=NO_CACHE)
def aggregate(model_version: str) -> dict:
    return pipeline.aggregate_step(Settings(), model_version)


@flow(name="nightly")
def nightly(sources_file: str | None = None) -> dict:
    """Run the whole pipeline once. With no sources file, crawls the bundled demo sites."""
    settings = Settings()
    settings.ensure_dirs()
    started = time.time()
    with pipeline.sources_for_run(settings, Path(sources_file) if sources_file else None) as src:
        crawled = crawl(str(src))
    segmented = segment()
    version = current_model()
    classified = classify(version)
    tables = aggregate(version)
    summary = {
        "seconds": round(time.time() - started, 1),
        "model_version": version,
        "crawl": crawled,
        "segment": segmented,
        "classify": classified,
        "tables": tables,
        "store": pipeline.store_totals(settings),
    }
    pipeline.write_summary(settings.output(RUN_SUMMARY), summary)
    get_run_logger().info(pipeline.format_summary(summary, settings).splitlines()[0]
                          + f"; summary in {settings.output(RUN_SUMMARY)}")
    return summary
