"""Classification in batches on a local Dask cluster gives the single-process predictions; bad worker counts are named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import sqlalchemy as sa

from corpus.store import CorpusStore, predictions
from models.registry import Registry


def _predicted(store, version) -> pd.DataFrame:
    with store.engine.connect() as conn:
        frame = pd.read_sql(sa.select(predictions).where(predictions.c.model_version == version), conn)
    return frame.drop(columns="model_version").sort_values(["text_hash", "theme"]).reset_index(drop=True)


@pytest.mark.slow
def test_dask_batches_give_the_single_process_predictions(demo_corpus, prefect_harness):
    from flows.classify_dask import classify_with_dask
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
