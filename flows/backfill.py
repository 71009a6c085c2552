"""The backfill flow: reclassify a date range with one model version, then rebuild its tables.

Use it after importing old articles (``policytrends import``), or to score a range with a
model version that is not the current one. Predictions are keyed by passage text hash and
model version, so the range's predictions of that version are overwritten and no other
version's are touched. Tables never mix versions: see
:func:`policytrends.reclassify.backfill_aggregate_step` for where they go and when they are not
rebuilt.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from policytrends import reclassify
from policytrends.runlock import flow_lock
from policytrends.settings import Settings

BACKFILL_TIMEOUT_SECONDS = 12 * 3600


@task(name="backfill-classify", cache_policy=NO_CACHE)
def classify_range(since: str, until: str, model_version: str | None) -> dict:
    return reclassify.backfill_classify_step(Settings(), date.fromisoformat(since), date.fromisoformat(until), model_version)


@task(name="backfill-aggregate", cache_policy=NO_CACHE)
def aggregate_version(model_version: str, current: bool) -> dict:
    return reclassify.backfill_aggregate_step(Settings(), model_version, current)


@flow(name="backfill", timeout_seconds=BACKFILL_TIMEOUT_SECONDS)
def backfill(since: str, until: str, model_version: str | None = None) -> dict:
    """Reclassify passages of documents published from ``since`` to ``until`` (ISO dates), then re-aggregate."""
    settings = Settings()
    settings.ensure_dirs()
    with flow_lock(settings.run_lock, "backfill"):
        classified = classify_range(since, until, model_version)
        tables = aggregate_version(classified["model_version"], classified["current"])
    get_run_logger().info("backfill %s to %s with %s: %d passages reclassified; tables %s", since, until,
                          classified["model_version"], classified["passages_classified"],
                          f"rebuilt in {tables['outputs']}" if tables["rebuilt"] else "not rebuilt")
    return {"classify": classified, "tables": tables}
