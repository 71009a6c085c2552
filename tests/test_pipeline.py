"""The nightly Prefect flow end to end on the demo sites: crawl, segment, classify, aggregate."""

from __future__ import annotations

import pandas as pd
import pytest

from policytrends.demo_sites.content import SITES, load_articles
from policytrends.errors import PolicyTrendsError
from policytrends.manifest import RUN_MANIFEST
from policytrends.trends.outputs import THEME_SHARE_CHART, THEME_TRENDS_MONTHLY
from tests.helpers import free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_nightly_flow_on_demo_sites_is_idempotent(backend, trained, prefect_harness, request, monkeypatch):
    from policytrends.corpus.store import CorpusStore
    from policytrends.flows.nightly import nightly
    from policytrends.settings import Settings

    if backend == "postgresql":  # the same run with the store on PostgreSQL (skips without one, see conftest.py)
        monkeypatch.setenv("POLICYTRENDS_DB_URL", request.getfixturevalue("pg_url"))
    first = nightly()
    n_articles = sum(len(load_articles(s)) for s in SITES)
    assert first["store"]["documents"] == n_articles
    assert first["store"]["passages"] > 4 * n_articles
    assert first["classify"]["passages_classified"] == first["store"]["passages"]

    table = pd.read_csv(trained.output(THEME_TRENDS_MONTHLY))
    assert list(table.columns[:6]) == ["period", "source", "theme", "passages", "documents", "theme_passages"]
    themes = {"bmd", "counterterrorism", "cyber", "deterrence"}
    assert set(table["source"]) == set(SITES) | {"ALL"}
    for source, group in table.groupby("source"):
        assert set(group["theme"]) == themes, source
        assert (group["theme_passages"] > 0).any(), source
    assert table["model_version"].nunique() == 1
    # ALL is the sum over sources, and shares are theme_passages / passages.
    one = table[table["theme"] == "cyber"]
    per_source = one[one["source"] != "ALL"].groupby("period")["passages"].sum()
    total = one[one["source"] == "ALL"].set_index("period")["passages"]
    assert (per_source.reindex(total.index, fill_value=0) == total).all()
    nonzero = table[table["passages"] > 0]
    assert ((nonzero["theme_passages"] / nonzero["passages"]).round(4) == nonzero["share"]).all()
    assert trained.output(THEME_SHARE_CHART).stat().st_size > 10_000
    _check_manifest(trained.output(RUN_MANIFEST), first, n_articles, new=n_articles)

    second = nightly()
    assert second["store"]["documents"] == first["store"]["documents"]
    assert second["store"]["passages"] == first["store"]["passages"]
    assert second["classify"]["passages_classified"] == 0
    assert sum(c["pages_fetched"] for c in second["crawl"]["sources"].values()) == 0
    assert sum(c["not_modified"] + c["skipped_unchanged_lastmod"] for c in second["crawl"]["sources"].values()) == n_articles
    assert pd.read_csv(trained.output(THEME_TRENDS_MONTHLY)).equals(table)
    _check_manifest(trained.output(RUN_MANIFEST), second, n_articles, new=0)
    assert second["run_id"] != first["run_id"]

    store = CorpusStore(Settings().db_url)
    assert store.engine.dialect.name == backend
    assert store.count("documents") == n_articles
    assert (trained.home / "corpus.sqlite").exists() == (backend == "sqlite")


def test_flow_with_nothing_crawled_stops_with_a_clear_error(trained, prefect_harness, tmp_path):
    from policytrends.flows.nightly import nightly

    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: gone\n    discovery: {{feed: ['http://127.0.0.1:{free_port()}/feed.xml']}}\n"
        "    article_patterns: ['/a/']\n"
    )
    with pytest.raises(PolicyTrendsError, match="the corpus is empty"):
        nightly(sources_file=str(sources))
    assert not trained.output(THEME_TRENDS_MONTHLY).exists()


def _check_manifest(path, result, n_articles, new):
    """The run manifest: the run's id and times, counts per stage and per source; written whole."""
    import json
    from datetime import datetime

    manifest = json.loads(path.read_text())
    assert manifest["run_id"] == result["run_id"]
    assert datetime.fromisoformat(manifest["started_at"]) <= datetime.fromisoformat(manifest["ended_at"])
    assert manifest["model_version"] == result["model_version"]
    assert set(manifest["stages"]) == {"crawl", "segment", "classify", "aggregate", "store"}
    assert manifest["stages"]["crawl"]["documents_new"] == new
    assert manifest["stages"]["classify"]["passages_classified"] == result["classify"]["passages_classified"]
    assert set(manifest["sources"]) == set(SITES)
    assert sum(c["documents_stored"] for c in manifest["sources"].values()) == n_articles
    for name, counts in manifest["sources"].items():
        assert counts["documents_new"] == result["crawl"]["sources"][name]["documents_new"]
        assert counts["articles_seen"] >= counts["documents_new"] + counts["documents_updated"]
    assert isinstance(manifest["warnings"], list)
    assert [p.name for p in path.parent.glob(f".{path.name}*")] == []  # no temporary file left behind
