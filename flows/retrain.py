"""The retraining flow: train → evaluate → promote → reclassify the corpus → rebuild tables.

If the new version is not promoted, the corpus and tables are left as they are.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from policytrends import pipeline
from policytrends.flows.nightly import aggregate, classify
from policytrends.runlock import flow_lock
from policytrends.settings import Settings


@task(name="train", cache_policy=NO_CACHE)
def train(labels_files: list[str], force: bool, new_themes: list[str]) -> dict:
    return pipeline.train_step(Settings(), [Path(p) for p in labels_files], force, new_themes)


RETRAIN_TIMEOUT_SECONDS = 12 * 3600  # training plus reclassifying a large corpus; a hung run must not block the next


@flow(name="retrain", timeout_seconds=RETRAIN_TIMEOUT_SECONDS)
def retrain(labels_files: list[str], force: bool = False, new_themes: list[str] | None = None) -> dict:
    """Train a new version from label files; if promoted, reclassify and re-aggregate."""
    settings = Settings()
    settings.ensure_dirs()
    with flow_lock(settings.run_lock, "retrain"):
        return _retrain(settings, labels_files, force, new_themes or [])


def _retrain(settings: Settings, labels_files: list[str], force: bool, new_themes: list[str]) -> dict:
    trained = train(labels_files, force, new_themes)
    summary = {"train": trained}
    logger = get_run_logger()
    if not trained["promoted"]:
        logger.info("%s: the corpus and tables are unchanged", trained["reason"])
        return summary
    if pipeline.store_totals(settings)["passages"] == 0:
        logger.info("promoted %s; the store holds no passages yet, nothing to reclassify", trained["version"])
        return summary
    summary["classify"] = classify(trained["version"])
    summary["tables"] = aggregate(trained["version"])
    logger.info("promoted %s, reclassified %d passages, rebuilt the tables",
                trained["version"], summary["classify"]["passages_classified"])
    return summary
