"""Killed at any moment, rerun, and nothing is lost or doubled.

The pipeline (``python -m policytrends.direct``, the nightly steps without Prefect) runs in a
child process that sends itself SIGKILL at a named checkpoint (``policytrends/faults.py``).
Each run of the chain is killed at the next point, on the state the previous kill left; a last
run finishes. Its store, predictions and tables must equal those of one uninterrupted run.

And ``kill -9`` of a `policytrends run` (the CLI, through Prefect) in the middle of a crawl
leaves no process of that run behind (crawler, temporary Prefect server), and the next run
stores each document once and counts them right.
"""

from __future__ import annotations

import shutil

import pytest

from policytrends.faults import POINTS
from tests.crashkit import (
    ARTICLES,
    KILL_CHAIN,
    KILL_GRACE,
    TRAIN_CHAIN,
    article_pages,
    differences,
    duplicates,
    kill_run_mid_crawl,
    run_direct,
    small_labels,
    store_picture,
    tables_picture,
    write_sources,
)
from tests.helpers import FixtureSite

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def fixture_site():
    site = FixtureSite({path: (200, "text/html; charset=utf-8", body) for path, body in article_pages().items()})
    yield site
    site.close()


def _state(root, seed_registry):
    home, outputs = root / "state", root / "outputs"
    shutil.copytree(seed_registry, home / "registry")
    return home, outputs


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, seed_registry, fixture_site):
    root = tmp_path_factory.mktemp("uninterrupted")
    home, outputs = _state(root, seed_registry)
    sources = write_sources(root / "sources.yaml", fixture_site.base)
    done = run_direct(home, outputs, ["run", "--sources", str(sources)])
    assert done.returncode == 0, done.stderr[-2000:]
    db = f"sqlite:///{home / 'corpus.sqlite'}"
    return store_picture(db), tables_picture(outputs, db), sources


def test_every_kill_point_is_declared():
    assert {p.split("#")[0] for p in KILL_CHAIN + TRAIN_CHAIN} <= set(POINTS)
    assert len(KILL_CHAIN) + len(TRAIN_CHAIN) >= 10
    stages = {p.split(".")[0] for p in KILL_CHAIN + TRAIN_CHAIN}
    assert stages == {"crawl", "segment", "classify", "aggregate", "train"}


def test_killed_at_every_point_then_rerun_equals_an_uninterrupted_run(tmp_path, seed_registry, uninterrupted):
    expected_store, expected_tables, sources = uninterrupted
    home, outputs = _state(tmp_path, seed_registry)
    db = f"sqlite:///{home / 'corpus.sqlite'}"
    for point in KILL_CHAIN:
        outcome = run_direct(home, outputs, ["run", "--sources", str(sources)], kill_at=point)
        assert outcome.killed, f"{point}: not killed (exit {outcome.returncode})\n{outcome.stderr[-1500:]}"
        picture = store_picture(db)
        assert duplicates(picture) == 0, point
        # What is stored is always a subset of what an undisturbed run stores: nothing half-written.
        for name in ("documents", "passages", "predictions"):
            # (a document's segmented_hash, last, is set only once its passages are written)
            cut = -1 if name == "documents" else None
            assert {r[:cut] for r in picture[name]} <= {r[:cut] for r in expected_store[name]}, (point, name)

    final = run_direct(home, outputs, ["run", "--sources", str(sources)])
    assert final.returncode == 0, final.stderr[-2000:]
    picture = store_picture(db)
    assert duplicates(picture) == 0
    for name, rows in expected_store.items():
        assert picture[name] == rows, name  # nothing lost, nothing doubled, nothing different
    assert differences(tables_picture(outputs, db), expected_tables) == []
    assert not list(outputs.glob(".*.tmp")), "a half-written table was left behind"


def test_training_killed_before_and_after_the_rename_leaves_a_whole_registry(tmp_path):
    from policytrends.models.registry import Registry

    labels = small_labels(tmp_path / "labels.jsonl")
    home, outputs = tmp_path / "state", tmp_path / "out"
    for point in TRAIN_CHAIN:
        outcome = run_direct(home, outputs, ["train", "--labels", str(labels)], kill_at=point)
        assert outcome.killed, f"{point}: {outcome.stderr[-1500:]}"
        registry = Registry(home / "registry")
        # Only whole versions are listed (not the ".partial" folder of the first kill); none is promoted.
        assert all((v.folder / "head.safetensors").exists() for v in registry.versions())
        assert registry.current() is None
    # The training killed after its rename left one whole version: what an uninterrupted training writes.
    [whole] = Registry(home / "registry").versions()
    done = run_direct(home, outputs, ["train", "--labels", str(labels)])
    assert done.returncode == 0, done.stderr[-1500:]
    current = Registry(home / "registry").require_current()
    for key in ("themes", "thresholds", "blend_weight", "metrics"):
        assert current.info[key] == whole.info[key], key



def test_kill_9_of_run_mid_crawl_leaves_no_process_and_the_next_run_counts_right(tmp_path, seed_registry):
    out = kill_run_mid_crawl(tmp_path, seed_registry)
    commands = " ".join(cmd for _, cmd in out["running"])
    assert "policytrends.crawlers.run" in commands and "uvicorn" in commands, out["running"]  # the children the kill must take along
    assert out["left"] == [], f"processes of the killed run alive {KILL_GRACE} s after the kill"
    stored = out["stored_at_kill"]
    assert 0 < stored < ARTICLES
    # A crawler left running would have stored more, and asked for more pages.
    assert (out["stored_later"], out["requested_later"]) == (stored, out["requested_at_kill"])

    after = out["next"]
    assert after.returncode == 0, after.stderr[-3000:]
    assert f"taking over a stale run lock left by `policytrends run` (pid {out['pid']} " in after.stderr
    assert len(out["picture"]["documents"]) == ARTICLES and duplicates(out["picture"]) == 0
    # The pages the killed run stored are found unchanged, the others new: each counted once.
    assert (f"{ARTICLES} articles seen in 1 sources: {ARTICLES - stored} new, 0 updated, "
            f"{stored} unchanged ({ARTICLES} downloaded), 0 duplicates") in after.stdout, after.stdout
    assert f"store:   {ARTICLES} documents" in after.stdout
    assert out["next_left"] == []  # a run that ends normally leaves nothing either
