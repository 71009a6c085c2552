"""The nightly flow: crawl → segment → classify → aggregate.

Each task calls one plain function of :mod:`policytrends.pipeline` and passes paths, ids
and small dicts of counts, never documents or arrays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from policytrends import pipeline
from policytrends.manifest import RUN_MANIFEST, build_manifest, format_summary, manifest_markdown, write_manifest
from policytrends.runlock import flow_lock
from policytrends.settings import Settings

# Crawl tasks retry a failed crawler process with backoff (a site or the network back after a while);
# a bad sources file is not retried: waiting does not fix it.
CRAWL_RETRY_DELAYS = [30, 120, 600]
NIGHTLY_TIMEOUT_SECONDS = 4 * 3600


def _retry_crawl(task, task_run, state) -> bool:
    from policytrends.crawlers.run import CrawlerFailed
    from policytrends.errors import PolicyTrendsError

    try:
        state.result()
    except CrawlerFailed:
        return True
    except PolicyTrendsError:
        return False
    except Exception:  # anything unexpected (OSError, a killed child) may be transient
        return True
    return False


@task(name="crawl", cache_policy=NO_CACHE, retries=len(CRAWL_RETRY_DELAYS), retry_delay_seconds=CRAWL_RETRY_DELAYS,
      retry_condition_fn=_retry_crawl)
def crawl(sources_file: str) -> dict:
    return pipeline.crawl_step(Settings(), Path(sources_file))


@task(name="segment", cache_policy=NO_CACHE)
def segment() -> dict:
    return pipeline.checked_segment_step(Settings())


@task(name="model", cache_policy=NO_CACHE)
def current_model() -> str:
    return pipeline.ensure_model(Settings())


@task(name="classify", cache_policy=NO_CACHE)
def classify(model_version: str) -> dict:
    return pipeline.classify_step(Settings(), model_version)


@task(name="aggregate", cache_policy=NO_CACHE)
def aggregate(model_version: str) -> dict:
    return pipeline.aggregate_step(Settings(), model_version)


@flow(name="nightly", timeout_seconds=NIGHTLY_TIMEOUT_SECONDS)
def nightly(sources_file: str | None = None) -> dict:
    """Run the whole pipeline once. With no sources file, crawls the bundled demo sites."""
    settings = Settings()
    settings.ensure_dirs()
    with flow_lock(settings.run_lock, "nightly"):
        return _nightly(settings, sources_file)


def _nightly(settings: Settings, sources_file: str | None) -> dict:
    """The flow's body, run under the run lock: the pipeline's sequence, each stage a task."""
    started_at = datetime.now(UTC)
    stages = pipeline.Stages(crawl=lambda src: crawl(str(src)), segment=segment, model=current_model,
                             classify=lambda version: _classify(settings, version), aggregate=aggregate)
    summary = pipeline.run_stages(settings, Path(sources_file) if sources_file else None, stages)
    manifest = build_manifest(summary, _run_id(), started_at, datetime.now(UTC))
    write_manifest(settings.output(RUN_MANIFEST), manifest)
    _publish(manifest)
    get_run_logger().info(format_summary(summary, settings).splitlines()[0] + f"; manifest in {settings.output(RUN_MANIFEST)}")
    return {**summary, "run_id": manifest["run_id"]}


def _classify(settings: Settings, version: str) -> dict:
    if settings.classify_workers > 1 or settings.dask_address:  # batches on a Dask cluster
        from policytrends.flows.classify_dask import classify_with_dask

        return classify_with_dask(settings, version)
    return classify(version)


def _run_id() -> str:
    """The Prefect flow run's id: the same id the Prefect UI and logs show."""
    from prefect.runtime import flow_run

    return str(flow_run.id)


def _publish(manifest: dict) -> None:
    """The manifest as a Markdown artifact of the flow run, shown in the Prefect UI."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=manifest_markdown(manifest), key="nightly-run-manifest",
                             description=f"nightly run {manifest['run_id']}: counts per stage and source, warnings")
