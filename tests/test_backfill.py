"""The backfill flow: a date range reclassified with a chosen model version; tables never mix versions."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from policytrends.corpus.store import CorpusStore, predictions
from policytrends.models.registry import Registry
from policytrends.trends.outputs import THEME_TRENDS_MONTHLY

pytestmark = pytest.mark.slow


def _predicted(store, version) -> pd.DataFrame:
    with store.engine.connect() as conn:
        return pd.read_sql(sa.select(predictions).where(predictions.c.model_version == version), conn)


def test_backfill_reclassifies_a_range_with_a_chosen_version(demo_corpus, prefect_harness):
    from policytrends.flows.backfill import backfill

    store = CorpusStore(demo_corpus.db_url)
    registry = Registry(demo_corpus.registry_dir)
    seed = registry.require_current()
    # A second version that is not the current one: the seed head filed under another name
    # (what a retrained version is to the store, without the training time).
    shutil.copytree(seed.folder, registry.root / "v-other")
    main_table = pd.read_csv(demo_corpus.output(THEME_TRENDS_MONTHLY))
    seed_before = _predicted(store, seed.version)

    in_range = store.passages_in_date_range(date(2020, 1, 1), date(2020, 12, 31))
    assert 0 < len(in_range) < len(seed_before) / len(seed.themes)
    result = backfill(since="2020-01-01", until="2020-12-31", model_version="v-other")
    assert result["classify"]["passages_classified"] == len(in_range)
    assert result["classify"]["current"] is False
    other = _predicted(store, "v-other")
    assert set(other["text_hash"]) == {h for h, _ in in_range}
    assert len(other) == len(in_range) * len(seed.themes)
    # The same head gives the same numbers; the current version's predictions are untouched.
    merged = other.merge(seed_before, on=["text_hash", "theme"], suffixes=("", "_seed"))
    assert len(merged) == len(other)
    assert (merged["probability"] - merged["probability_seed"]).abs().max() < 1e-5
    assert (merged["label"] == merged["label_seed"]).all()
    assert _predicted(store, seed.version).equals(seed_before)
    # Passages outside the range lack v-other: no table of it, and the analysts' tables stay as they were.
    assert result["tables"]["rebuilt"] is False
    assert "v-other" in result["tables"]["reason"]
    assert not (demo_corpus.outputs_dir / "backfill-v-other").exists()  # not even an empty folder
    assert pd.read_csv(demo_corpus.output(THEME_TRENDS_MONTHLY)).equals(main_table)

    # Again: overwritten, not duplicated.
    again = backfill(since="2020-01-01", until="2020-12-31", model_version="v-other")
    assert again["classify"]["passages_classified"] == len(in_range)
    assert len(_predicted(store, "v-other")) == len(other)

    # The whole span: v-other's tables are complete, written beside the main ones, never mixed.
    whole = backfill(since="1990-01-01", until=str(date.today()), model_version="v-other")
    assert whole["tables"]["rebuilt"] is True
    side = pd.read_csv(demo_corpus.outputs_dir / "backfill-v-other" / THEME_TRENDS_MONTHLY)
    assert set(side["model_version"]) == {"v-other"}
    assert side.drop(columns="model_version").equals(main_table.drop(columns="model_version"))
    assert set(pd.read_csv(demo_corpus.output(THEME_TRENDS_MONTHLY))["model_version"]) == {seed.version}

    # With the current version (the default), the main tables are rebuilt.
    current = backfill(since="2020-01-01", until="2020-12-31")
    assert current["classify"]["model_version"] == seed.version and current["tables"]["rebuilt"] is True
    assert current["tables"]["outputs"] == str(demo_corpus.outputs_dir)
    assert pd.read_csv(demo_corpus.output(THEME_TRENDS_MONTHLY)).equals(main_table)


def test_backfill_cli_bad_dates_are_one_line_errors(trained):
    import os
    import subprocess
    import sys

    env = {**os.environ, "POLICYTRENDS_HOME": str(trained.home), "POLICYTRENDS_OUTPUTS": str(trained.outputs_dir)}
    for args, expected in [
        (["--since", "2020-13-01", "--until", "2021-01-01"],
         "error: --since '2020-13-01' is not a date; write it as YYYY-MM-DD, e.g. --since 2024-01-31"),
        (["--since", "2021-01-01", "--until", "2020-01-01"],
         "error: --since 2021-01-01 is after --until 2020-01-01; give the earlier date first"),
        (["--since", "2020-01-01", "--until", "2020-12-31", "--model", "v-missing"],
         "error: model version 'v-missing' not found in"),
    ]:
        proc = subprocess.run([sys.executable, "-m", "policytrends.cli", "backfill", *args], capture_output=True,
                              text=True, env=env, timeout=120)
        assert proc.returncode == 1
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith(expected), proc.stderr


def test_a_backfill_overwrites_only_its_versions_predictions(store_url):
    store = CorpusStore(store_url)
    store.save_predictions("v1", [("h1", "cyber", 0.2, False)])
    store.save_predictions("v2", [("h1", "cyber", 0.3, False)])
    store.save_predictions("v1", [("h1", "cyber", 0.9, True)])  # a nightly run keeps what is stored
    assert _predicted(store, "v1")[["probability", "label"]].values.tolist() == [[0.2, False]]
    store.save_predictions("v1", [("h1", "cyber", 0.9, True), ("h2", "cyber", 0.1, False)], replace=True)
    assert _predicted(store, "v1").sort_values("text_hash")[["text_hash", "probability", "label"]].values.tolist() == [
        ["h1", 0.9, True], ["h2", 0.1, False]]
    assert _predicted(store, "v2")[["probability", "label"]].values.tolist() == [[0.3, False]]
