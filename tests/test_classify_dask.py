"""Classification in batches on a local Dask cluster gives the single-process predictions; bad worker counts are named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import sqlalchemy as sa

from policytrends.corpus.store import CorpusStore, predictions
from policytrends.models.registry import Registry


def _predicted(store, version) -> pd.DataFrame:
    with store.engine.connect() as conn:
        frame = pd.read_sql(sa.select(predictions).where(predictions.c.model_version == version), conn)
    return frame.drop(columns="model_version").sort_values(["text_hash", "theme"]).reset_index(drop=True)


@pytest.mark.slow
def test_dask_batches_give_the_single_process_predictions(demo_corpus, prefect_harness):
    from policytrends.flows.classify_dask import classify_with_dask
    from policytrends.settings import Settings

    store = CorpusStore(demo_corpus.db_url)
    registry = Registry(demo_corpus.registry_dir)
    seed = registry.require_current()
    single = _predicted(store, seed.version)  # the demo corpus was classified in one process (classify_store)
    shutil.copytree(seed.folder, registry.root / "v-dask")  # the same head under a version with no predictions yet
    distinct = len(store.unclassified_passage_ids("v-dask"))
    assert distinct == single["text_hash"].nunique()

    result = classify_with_dask(Settings(), "v-dask", workers=2)
    assert result["passages_classified"] == distinct
    assert result["batches"] == -(-distinct // 512) and result["batches"] > 1
    dask = _predicted(store, "v-dask")
    assert dask[["text_hash", "theme", "label"]].equals(single[["text_hash", "theme", "label"]])
    assert (dask["probability"] - single["probability"]).abs().max() < 1e-6

    again = classify_with_dask(Settings(), "v-dask", workers=2)
    assert again["passages_classified"] == 0 and again["batches"] == 0
    assert len(_predicted(store, "v-dask")) == len(dask)


@pytest.mark.slow
def test_local_workers_start_without_dasks_malloc_trim_setting():
    """Dask sets MALLOC_TRIM_THRESHOLD_ for its workers, which slows the encoder about 1.4x; ours run without it."""
    import dask
    from distributed import Client, LocalCluster

    from policytrends.flows.classify_dask import local_cluster_kwargs, worker_config

    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") is not None  # Dask's default
    with worker_config(), LocalCluster(**local_cluster_kwargs(1)) as cluster, Client(cluster) as client:
        seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_", "unset"))
    assert list(seen.values()) == ["unset"]


@pytest.mark.slow
def test_worker_config_leaves_dasks_defaults_in_place_in_a_fresh_process():
    """In a process that has not imported distributed yet, leaving the block must not drop its defaults
    (the second classification of a run once failed with KeyError: 'comm')."""
    from tests.helpers import REPO

    code = ("import dask\n"
            "from flows.classify_dask import worker_config\n"
            "with worker_config():\n"
            "    inside = dask.config.get('distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_')\n"
            "print(inside, dask.config.get('distributed.comm.timeouts.connect'),\n"
            "      dask.config.get('distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "30s", "65536"]


def test_remote_worker_config_file_matches_the_local_one():
    """deploy/dask/policytrends.yaml, for `dask worker` on other machines, says what WORKER_DASK_CONFIG says."""
    import dask

    from policytrends.flows.classify_dask import WORKER_DASK_CONFIG
    from tests.helpers import REPO

    collected = dask.config.collect(paths=[str(REPO / "deploy" / "dask")], env={})
    for dotted, value in WORKER_DASK_CONFIG.items():
        node = collected
        for part in dotted.split("."):
            assert part in node, f"{dotted} missing from deploy/dask/policytrends.yaml"
            node = node[part]
        assert node == value


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("POLICYTRENDS_CLASSIFY_WORKERS", "two",
     "error: classify_workers 'two' (env POLICYTRENDS_CLASSIFY_WORKERS) is not a whole number of at least 1"),
    ("POLICYTRENDS_CRAWL_PROCESSES", "0",
     "error: crawl_processes '0' (env POLICYTRENDS_CRAWL_PROCESSES) is not a whole number of at least 1"),
    ("POLICYTRENDS_CLASSIFY_WORKERS", "1.5",
     "error: classify_workers '1.5' (env POLICYTRENDS_CLASSIFY_WORKERS) is not a whole number of at least 1"),
    ("POLICYTRENDS_DASK_ADDRESS", "scheduler.internal",
     "error: dask_address 'scheduler.internal' (env POLICYTRENDS_DASK_ADDRESS) is not a scheduler address"),
])
def test_bad_worker_settings_are_one_line_errors(settings, name, value, expected):
    env = {**os.environ, "POLICYTRENDS_HOME": str(settings.home), name: value}
    proc = subprocess.run([sys.executable, "-m", "policytrends.cli", "run"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(expected), proc.stderr


def test_worker_settings_from_the_file_are_checked_too(settings, tmp_path, monkeypatch):
    from policytrends.errors import PolicyTrendsError
    from policytrends.settings import Settings

    path = tmp_path / "policytrends.toml"
    path.write_text('classify_workers = "3"\ncrawl_processes = "4"\n', encoding="utf-8")
    monkeypatch.setenv("POLICYTRENDS_SETTINGS", str(path))
    s = Settings()
    assert (s.classify_workers, s.crawl_processes, s.dask_address) == (3, 4, None)
    assert s.describe()["classify_workers"] == {"value": "3", "origin": f"file {path}", "env": "POLICYTRENDS_CLASSIFY_WORKERS"}
    path.write_text('crawl_processes = "many"\n', encoding="utf-8")
    with pytest.raises(PolicyTrendsError, match=r"^crawl_processes 'many' \(file .*\) is not a whole number of at least 1"):
        Settings()
