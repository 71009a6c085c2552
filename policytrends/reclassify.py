"""Classifying stored passages outside the nightly run: a date range with one model version
(a backfill), and id ranges of unclassified passages handed to Dask workers.
"""

from __future__ import annotations

import logging
import shutil

from policytrends.corpus.segment import segment_store
from policytrends.corpus.store import CorpusStore
from policytrends.errors import PolicyTrendsError
from policytrends.settings import Settings

log = logging.getLogger("policytrends")


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
    model = registry.resolve(model_version)
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
