"""corpus/store.py on SQLite and on PostgreSQL: upserts, predictions, embeddings, crawl state, errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

from policytrends.corpus.store import CorpusStore, Document, predictions
from policytrends.errors import PolicyTrendsError
from tests.helpers import free_port


def _doc(n: int, body: str = "body", source: str = "s") -> Document:
    return Document(url=f"https://e.example/a/{n}?utm_source=x", canonical_url=f"https://e.example/a/{n}", source=source,
                    title=f"T{n}", authors=["A. Author"], published=date(2021, 1, n), body=body, content_hash=f"{body}-{n}",
                    content_type="text/html", extraction_method="trafilatura")


def test_writes_are_idempotent_upserts(store_url):
    store = CorpusStore(store_url)
    assert store.upsert_document(_doc(1)) == "new"
    assert store.upsert_document(_doc(1)) == "unchanged"
    assert store.upsert_document(_doc(1, body="changed")) == "updated"
    assert store.upsert_document(_doc(2, source="t")) == "new"
    assert store.count("documents") == 2
    assert store.content_hash_owner("s", "changed-1") == "https://e.example/a/1"
    assert store.content_hash_owner("t", "changed-1") is None
    store.rename_document("https://e.example/a/1", "https://e.example/canonical/1")
    assert store.document_url("https://e.example/canonical/1") == "https://e.example/a/1?utm_source=x"

    [(doc_id, _body, _hash)] = [d for d in store.documents_to_segment() if d[2] == "changed-1"]
    store.replace_passages(doc_id, ["one", "two", "one"], ["h1", "h2", "h1"], "changed-1")
    assert store.source_counts() == {"s": {"documents": 1, "passages": 3}, "t": {"documents": 1, "passages": 0}}

    # Predictions are keyed by text hash: the repeated passage is classified once, and saving twice adds nothing.
    todo = store.passages_without_predictions("v1")
    assert sorted(todo) == [("h1", "one"), ("h2", "two")]
    rows = [(h, theme, 0.9 if h == "h1" else 0.1, h == "h1") for h, _ in todo for theme in ("cyber", "bmd")]
    assert store.save_predictions("v1", rows) == 4
    store.save_predictions("v1", rows)
    assert store.count("predictions") == 4
    assert store.passages_without_predictions("v1") == []
    assert store.passages_without_predictions("v2") != []
    with store.engine.connect() as conn:
        tagged = conn.execute(sa.select(predictions.c.text_hash, predictions.c.theme).where(
            predictions.c.model_version == "v1", predictions.c.label)).all()
    assert sorted(tagged) == [("h1", "bmd"), ("h1", "cyber")]  # the repeated passage's text, once


def test_embeddings_and_crawl_state_round_trip(store_url):
    store = CorpusStore(store_url)
    vectors = {"a": np.arange(4, dtype=np.float32), "b": np.full(4, -1.5, dtype=np.float32)}
    store.save_embeddings("enc", vectors)
    store.save_embeddings("enc", vectors)
    got = store.cached_embeddings("enc", ["a", "b", "c"])
    assert sorted(got) == ["a", "b"] and np.array_equal(got["b"], vectors["b"])
    assert store.cached_embeddings("other", ["a"]) == {}

    store.record_fetch("https://e.example/a/1", "s", 200, etag='"x"', sitemap_lastmod="2021-01-01", content_hash="h")
    store.record_fetch("https://e.example/a/1", "s", 304)  # values left out keep what was known
    [state] = store.crawl_state_for("s").values()
    assert (state["last_status"], state["etag"], state["sitemap_lastmod"], state["content_hash"]) == (304, '"x"', "2021-01-01", "h")
    store.record_crawl_run("r1", "s", {"documents_new": 1}, 120.0)
    store.record_crawl_run("r2", "s", {"documents_new": 0}, None)
    assert store.body_length_history("s", before_run="r3") == [120.0]


def test_unreachable_postgresql_gives_one_line_naming_the_setting():
    port = free_port()  # nothing listens there
    with pytest.raises(PolicyTrendsError) as err:
        CorpusStore(f"postgresql://analyst:s3cret@127.0.0.1:{port}/corpus")
    message = str(err.value)
    assert "\n" not in message
    assert f"postgresql+psycopg://analyst:***@127.0.0.1:{port}/corpus" in message
    assert "s3cret" not in message
    assert "POLICYTRENDS_DB_URL" in message and "db_url" in message and "Connection refused" in message


@pytest.mark.parametrize("url, expected", [
    ("mysql://u@localhost/db", "unsupported database 'mysql'"),
    ("corpus.sqlite", "is not a database URL"),
])
def test_unusable_urls_are_refused_with_the_fix(url, expected):
    with pytest.raises(PolicyTrendsError, match=expected) as err:
        CorpusStore(url)
    assert "POLICYTRENDS_DB_URL" in str(err.value)


def test_wrong_password_is_reported(pg_url):
    import sqlalchemy as sa

    bad = sa.engine.make_url(pg_url).set(password="wrong").render_as_string(hide_password=False)
    with pytest.raises(PolicyTrendsError, match="password authentication failed.*POLICYTRENDS_DB_URL"):
        CorpusStore(bad)
