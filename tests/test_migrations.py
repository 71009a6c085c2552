"""Schema migrations of the corpus store: old stores are upgraded on open and keep every row.

Each test runs on SQLite and on PostgreSQL (``store_url``; the PostgreSQL variants need
POLICYTRENDS_TEST_PG_URL, see tests/conftest.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from policytrends.corpus.migrations import BASELINE, config, current_revision, head
from policytrends.corpus.store import CorpusStore, Document, dispose_engine, metadata
from policytrends.errors import PolicyTrendsError

# sqlite_master of a store made by corpus/store.py before migrations existed (commit bbc9791).
SCHEMA_BEFORE_MIGRATIONS = Path(__file__).parent / "fixtures" / "store" / "schema_bbc9791.sqlite.sql"
TABLES = ("documents", "passages", "predictions", "embeddings", "crawl_state", "crawl_runs")


def _statements(path: Path) -> list[str]:
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def _old_store(url: str, pre_migrations: bool) -> None:
    """A store at revision 0001: made by the code before migrations (no alembic_version), or by revision 0001."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        if pre_migrations and engine.dialect.name == "sqlite":
            for stmt in _statements(SCHEMA_BEFORE_MIGRATIONS):
                conn.exec_driver_sql(stmt)
        else:
            command.upgrade(config(conn), BASELINE)
            if pre_migrations:  # on PostgreSQL revision 0001 is that schema (checked by hand); drop the marker
                conn.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()


def _fill(url: str) -> None:
    """Rows in every table, written through the tables as the database reports them (not corpus/store.py's)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    md = sa.MetaData()
    md.reflect(engine)
    t = md.tables
    now = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for i, published in enumerate([date(2019, 3, 1), None, date(2025, 12, 24)]):
            conn.execute(t["documents"].insert().values(
                canonical_url=f"https://x.example/a/{i}", url=f"https://www.x.example/a/{i}?utm_source=feed",
                source="x" if i < 2 else "y", title=f"Title {i} – ünïcode", authors='["Ana Ruiz"]', published=published,
                body=f"Body {i}\nsecond paragraph", content_hash=f"{i:064d}", content_type="text/html",
                extraction_method="json-ld+trafilatura", http_status=200, fetched_at=now, first_seen_at=now,
                segmented_hash=f"{i:064d}"))
        ids = [r[0] for r in conn.execute(sa.select(t["documents"].c.id).order_by(t["documents"].c.canonical_url))]
        for doc_id in ids:
            for pos in range(2):
                h = f"{doc_id}-{pos}".rjust(64, "h")
                conn.execute(t["passages"].insert().values(document_id=doc_id, position=pos, text=f"passage {doc_id}/{pos}", text_hash=h))
                for theme in ("bmd", "counterterrorism", "cyber", "deterrence"):
                    conn.execute(t["predictions"].insert().values(text_hash=h, model_version="v1", theme=theme,
                                                                  probability=0.25 * pos, label=pos == 1))
                conn.execute(t["embeddings"].insert().values(text_hash=h, encoder="minilm", vector=bytes(range(16))))
        conn.execute(t["crawl_state"].insert().values(
            url_key="https://x.example/a/0", source="x", etag='"abc"', last_modified=None, sitemap_lastmod="2019-03-01",
            content_hash="0" * 64, canonical_url="https://x.example/a/0", last_status=200, first_seen_at=now, last_fetched_at=now))
        conn.execute(t["crawl_runs"].insert().values(run_id="r1", source="x", finished_at=now, counts='{"documents_new": 2}',
                                                     median_body_words=3.0))
    engine.dispose()


def _rows(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    md = sa.MetaData()
    md.reflect(engine, only=TABLES)
    with engine.connect() as conn:
        out = {name: sorted(tuple(r) for r in conn.execute(sa.select(md.tables[name]))) for name in TABLES}
    engine.dispose()
    return out


def _index_names(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    names = {ix["name"] for ix in sa.inspect(engine).get_indexes(table)}
    engine.dispose()
    return names


def _revision(url: str) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rev = current_revision(conn)
    engine.dispose()
    return rev


@pytest.mark.parametrize("pre_migrations", [True, False], ids=["made-before-migrations", "at-revision-0001"])
def test_old_store_is_upgraded_on_open_and_keeps_every_row(store_url, pre_migrations):
    _old_store(store_url, pre_migrations)
    _fill(store_url)
    before = _rows(store_url)
    assert len(before["documents"]) == 3 and len(before["predictions"]) == 24
    assert "ix_documents_source" in _index_names(store_url, "documents")

    store = CorpusStore(store_url)

    assert _revision(store_url) == head() != BASELINE
    assert _rows(store_url) == before  # every document, passage, prediction, embedding and crawl record kept
    indexes = _index_names(store_url, "documents")
    assert "ix_documents_source_content_hash" in indexes and "ix_documents_source" not in indexes
    # The upgraded store works as a store: it knows its documents, and new ones get new ids.
    assert store.count("documents") == 3
    assert store.content_hash_owner("y", f"{2:064d}") == "https://x.example/a/2"
    assert store.passages_without_predictions("v1") == []
    doc = Document(url="https://x.example/a/9", canonical_url="https://x.example/a/9", source="x", title="New",
                   authors=[], published=None, body="new body", content_hash="9" * 64, content_type="text/html",
                   extraction_method="trafilatura")
    assert store.upsert_document(doc) == "new"
    assert store.count("documents") == 4
    # Opening again is a no-op.
    CorpusStore(store_url)
    assert _revision(store_url) == head()
    dispose_engine(store_url)


def test_new_store_schema_is_exactly_corpus_store_tables(store_url):
    """The revisions, applied in turn, give the tables corpus/store.py declares: no drift either way."""
    CorpusStore(store_url)
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    dispose_engine(store_url)
    assert diff == []


def test_revision_0001_is_the_schema_stores_had_before_migrations(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    _old_store(url, pre_migrations=False)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        made = {r[0].strip() for r in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                                                           "AND name != 'alembic_version'")}
    engine.dispose()
    assert made == set(_statements(SCHEMA_BEFORE_MIGRATIONS))


def test_downgrade_to_0001_and_upgrade_again_keep_rows(store_url):
    CorpusStore(store_url)
    _fill(store_url)
    before = _rows(store_url)
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        command.downgrade(config(conn), BASELINE)
    assert "ix_documents_source" in _index_names(store_url, "documents")
    CorpusStore(store_url)
    assert _revision(store_url) == head()
    assert _rows(store_url) == before
    engine.dispose()
    dispose_engine(store_url)


def test_half_applied_upgrade_completes(tmp_path):
    """An upgrade interrupted after the new index was made (or an index added by hand) still goes through."""
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    _old_store(url, pre_migrations=True)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_documents_source_content_hash ON documents (source, content_hash)")
    engine.dispose()
    CorpusStore(url)
    assert _revision(url) == head()
    assert "ix_documents_source" not in _index_names(url, "documents")


def test_store_from_a_newer_policytrends_is_refused_untouched(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    CorpusStore(url)
    _fill(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    engine.dispose()
    before = _rows(url)
    with pytest.raises(PolicyTrendsError, match=r"schema revision '0099', which this policytrends does not know .*install that version"):
        CorpusStore(url)
    assert _rows(url) == before and _revision(url) == "0099"
