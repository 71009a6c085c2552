"""Classification fanned out over Dask: batches of passage ids, one task each.

Used by the nightly flow when the ``classify_workers`` setting is 2 or more (a local Dask
cluster of that many worker processes on this machine) or ``dask_address`` names a scheduler
(a cluster on other machines; its workers need the project installed and the same store and
registry settings). Each task gets a model version and a range of passage ids, reads its
passages from the store, and writes their predictions back: no texts or arrays travel.
"""

from __future__ import annotations

import os

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from policytrends import reclassify
from policytrends.settings import Settings

# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_ set, which disables glibc's adaptive
# mmap threshold: each encoder tensor is then mmap'ed and unmapped, and a batch takes about 1.4x
# as long (12 s instead of 8.5 s for 512 passages on 2 cores). Unset it for our workers. Remote
# workers get the same from deploy/dask/policytrends.yaml (DASK_CONFIG=deploy/dask).
WORKER_DASK_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


@task(name="classify-batch", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def classify_batch(model_version: str, first_id: int, last_id: int, threads: int | None) -> dict:
    return reclassify.classify_batch_step(Settings(), model_version, first_id, last_id, threads)


@flow(name="classify-distributed")
def classify_distributed(model_version: str, threads: int | None = None) -> dict:
    """Classify every passage ``model_version`` has not seen, one task per batch of passage ids."""
    batches = reclassify.passage_batches(Settings(), model_version)
    futures = [classify_batch.submit(model_version, lo, hi, threads) for lo, hi in batches]
    done = [f.result() for f in futures]
    n = sum(d["passages_classified"] for d in done)
    get_run_logger().info("classify: %d new passages tagged by %s in %d batches", n, model_version, len(batches))
    return {"passages_classified": n, "batches": len(batches), "model_version": model_version}


def task_runner(settings: Settings, workers: int | None = None):
    """A Dask task runner: the scheduler at ``dask_address``, else a local cluster of ``classify_workers`` processes."""
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_kwargs=local_cluster_kwargs(workers or settings.classify_workers))


def local_cluster_kwargs(workers: int) -> dict:
    """A LocalCluster of ``workers`` processes of one task thread each, on loopback, no Bokeh dashboard.

    The scheduler's own HTTP endpoint (health, metrics) still listens on 127.0.0.1:8787, or on a
    free port if that one is taken.
    """
    return {"n_workers": workers, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1",
            "dashboard_address": None}


def classify_with_dask(settings: Settings, model_version: str, workers: int | None = None) -> dict:
    """Run :func:`classify_distributed` on the Dask cluster the settings name (a subflow inside a flow)."""
    n = workers or settings.classify_workers
    threads = None if settings.dask_address else max(1, (os.cpu_count() or 1) // n)
    with worker_config():  # read when the local cluster's nannies start
        return classify_distributed.with_options(task_runner=task_runner(settings, workers))(model_version, threads)


def worker_config():
    """Dask's configuration with :data:`WORKER_DASK_CONFIG` applied, for the block.

    ``distributed`` is imported first: it adds its defaults to Dask's configuration on import,
    and a ``dask.config.set`` entered before that would delete them all on exit.
    """
    import dask
    import distributed  # noqa: F401

    return dask.config.set(WORKER_DASK_CONFIG)
