"""The corpus store: documents, passages, predictions and cached embeddings.

SQLite (embedded, one file) by default; PostgreSQL for teams (``postgresql+psycopg://...``).
Every write is an idempotent upsert, so running the pipeline twice never duplicates a row:
documents are keyed by canonical URL, passages by (document, position), predictions by
(passage text hash, model version, theme), embeddings by (text hash, encoder).

The tables below are the newest schema revision; opening a store upgrades it to them
(Alembic scripts in ``corpus/migrations/``). A change here needs a new revision there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from policytrends.errors import PolicyTrendsError
from policytrends.settings import DATABASES

metadata = sa.MetaData()

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("canonical_url", sa.Text, nullable=False, unique=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("authors", sa.Text, nullable=False, default="[]"),  # JSON list of names
    sa.Column("published", sa.Date, nullable=True, index=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("extraction_method", sa.Text, nullable=False),
    sa.Column("http_status", sa.Integer, nullable=False),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    # The content hash the current passages were cut from; differs after an update.
    sa.Column("segmented_hash", sa.String(64), nullable=True),
    # "Does this source already hold this text?" is asked for every stored article (revision 0002).
    sa.Index("ix_documents_source_content_hash", "source", "content_hash"),
)

passages = sa.Table(
    "passages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False, index=True),
    sa.UniqueConstraint("document_id", "position", name="uq_passage_position"),
)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("model_version", sa.Text, primary_key=True),
    sa.Column("theme", sa.Text, primary_key=True),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("label", sa.Boolean, nullable=False),
)

embeddings = sa.Table(
    "embeddings",
    metadata,
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("encoder", sa.Text, primary_key=True),
    sa.Column("vector", sa.LargeBinary, nullable=False),  # float32, little-endian
)


# What the crawler knows about each article URL it has fetched: lets the next run skip
# unchanged pages (sitemap lastmod) or ask conditionally (ETag / Last-Modified).
crawl_state = sa.Table(
    "crawl_state",
    metadata,
    sa.Column("url_key", sa.Text, primary_key=True),  # canonical form of the fetched URL
    sa.Column("source", sa.Text, nullable=False, index=True),
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("sitemap_lastmod", sa.Text, nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.Column("canonical_url", sa.Text, nullable=True),
    sa.Column("last_status", sa.Integer, nullable=False),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per source and crawl: the counts, and the median body length of what was stored,
# so a collapse against the source's history (a redesigned site) can be noticed.
crawl_runs = sa.Table(
    "crawl_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False, index=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("counts", sa.Text, nullable=False),  # JSON
    sa.Column("median_body_words", sa.Float, nullable=True),
)


@dataclass(frozen=True)
class Document:
    """One extracted article or report, ready to store."""

    url: str
    canonical_url: str
    source: str
    title: str
    authors: list[str]
    published: object  # datetime.date or None
    body: str
    content_hash: str
    content_type: str
    extraction_method: str
    http_status: int = 200


def _utcnow() -> datetime:
    return datetime.now(UTC)


DB_URL_FIX = ("set the db_url setting (POLICYTRENDS_DB_URL, or db_url in the settings file; `policytrends config` "
              "shows the one in use)")
# One engine (and connection pool) per PostgreSQL URL and process: the pipeline opens the
# store once per step, and a pool per open would leave idle server connections behind.
_SHARED_ENGINES: dict[str, sa.Engine] = {}


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean the psycopg (3) driver, the one installed."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def shown_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def dispose_engine(url: str) -> None:
    """Close the pooled connections of a shared engine (tests drop their database schema after)."""
    engine = _SHARED_ENGINES.pop(normalise_url(url), None)
    if engine is not None:
        engine.dispose()


class CorpusStore:
    """Access to the corpus database. Create with a SQLAlchemy URL; the schema is created or upgraded on open."""

    def __init__(self, url: str):
        self.url = url = normalise_url(url)
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            raise PolicyTrendsError(
                f"the corpus store URL {url!r} is not a database URL: {DB_URL_FIX} to one such as "
                "sqlite:////path/to/corpus.sqlite or postgresql+psycopg://user:password@host:5432/dbname"
            ) from None
        if parsed.get_backend_name() not in DATABASES:
            raise PolicyTrendsError(
                f"unsupported database {parsed.get_backend_name()!r} in {shown_url(url)}: the corpus store runs on SQLite "
                f"or PostgreSQL; {DB_URL_FIX} to a sqlite:/// or postgresql+psycopg:// URL"
            )
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PolicyTrendsError(
                    f"cannot create the folder of the corpus store {parsed.database}: {exc.strerror}; "
                    "set the home setting (POLICYTRENDS_HOME) to a writable folder, or " + DB_URL_FIX
                ) from None
        try:
            self.engine = self._engine(url, parsed)
            from policytrends.corpus.migrations import upgrade_store

            upgrade_store(self.engine, shown_url(url))
        except sa.exc.SQLAlchemyError as exc:  # unreachable server, bad credentials, unwritable file
            dispose_engine(url)
            raise PolicyTrendsError(_open_error(url, parsed, exc)) from exc

    @staticmethod
    def _engine(url: str, parsed: sa.engine.URL) -> sa.Engine:
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(url, future=True)
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        engine = _SHARED_ENGINES.get(url)
        if engine is None:
            # A server that does not answer fails in seconds, not after the OS's TCP timeout;
            # pre-ping replaces connections a server restart has closed (nightly runs are hours apart).
            connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
            engine = _SHARED_ENGINES[url] = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        return engine

    def _insert(self, table: sa.Table):
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(table)
        if dialect == "postgresql":
            return postgresql.insert(table)
        raise PolicyTrendsError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")

    # --- documents -------------------------------------------------------------------------
    def upsert_document(self, doc: Document) -> str:
        """Insert or update one document; returns 'new', 'updated' or 'unchanged'."""
        now = _utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(documents.c.id, documents.c.content_hash).where(
                    documents.c.canonical_url == doc.canonical_url
                )
            ).first()
            # Every field of the document is a column of the same name; authors are stored as JSON.
            values = {f.name: getattr(doc, f.name) for f in fields(doc) if f.name != "canonical_url"}
            values.update(authors=json.dumps(doc.authors, ensure_ascii=False), fetched_at=now)
            if row is None:
                stmt = self._insert(documents).values(
                    canonical_url=doc.canonical_url, first_seen_at=now, **values
                )
                # A concurrent writer may have inserted the same URL: keep one row.
                stmt = stmt.on_conflict_do_nothing(index_elements=["canonical_url"])
                conn.execute(stmt)
                return "new"
            if row.content_hash == doc.content_hash:
                conn.execute(
                    documents.update().where(documents.c.id == row.id).values(fetched_at=now)
                )
                return "unchanged"
            conn.execute(documents.update().where(documents.c.id == row.id).values(**values))
            return "updated"

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[table])).scalar_one()

    def documents_to_segment(self) -> Iterator[tuple[int, str, str]]:
        """Documents whose passages are missing or were cut from an older version."""
        stmt = sa.select(documents.c.id, documents.c.body, documents.c.content_hash).where(
            sa.or_(
                documents.c.segmented_hash.is_(None),
                documents.c.segmented_hash != documents.c.content_hash,
            )
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        for row in rows:
            yield row.id, row.body, row.content_hash

    def replace_passages(self, document_id: int, texts: list[str], hashes: list[str], content_hash: str) -> None:
        """Make the document's passages exactly ``texts``, in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(passages.delete().where(passages.c.document_id == document_id))
            if texts:
                conn.execute(
                    passages.insert(),
                    [
                        dict(document_id=document_id, position=i, text=t, text_hash=h)
                        for i, (t, h) in enumerate(zip(texts, hashes, strict=True))
                    ],
                )
            conn.execute(
                documents.update()
                .where(documents.c.id == document_id)
                .values(segmented_hash=content_hash)
            )

    def content_hash_owner(self, source: str, content_hash: str) -> str | None:
        """Canonical URL of a stored document of ``source`` with this exact text, if any."""
        stmt = sa.select(documents.c.canonical_url).where(
            documents.c.source == source, documents.c.content_hash == content_hash
        ).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar()

    def document_url(self, canonical_url: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(documents.c.url).where(documents.c.canonical_url == canonical_url)).scalar()

    def rename_document(self, old_canonical: str, new_canonical: str) -> None:
        """File a stored document under another canonical URL (its passages follow it)."""
        with self.engine.begin() as conn:
            conn.execute(documents.update().where(documents.c.canonical_url == old_canonical)
                         .values(canonical_url=new_canonical))

    # --- crawl state ---------------------------------------------------------------------
    def crawl_state_for(self, source: str) -> dict[str, dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(crawl_state).where(crawl_state.c.source == source)).mappings().all()
        return {r["url_key"]: dict(r) for r in rows}

    def record_fetch(self, url_key: str, source: str, status: int, etag: str | None = None,
                     last_modified: str | None = None, sitemap_lastmod: str | None = None,
                     content_hash: str | None = None, canonical_url: str | None = None) -> None:
        """Remember a fetch of ``url_key``; values left as None keep what was known."""
        now = _utcnow()
        fresh = {k: v for k, v in dict(etag=etag, last_modified=last_modified, sitemap_lastmod=sitemap_lastmod,
                                       content_hash=content_hash, canonical_url=canonical_url).items() if v is not None}
        stmt = self._insert(crawl_state).values(
            url_key=url_key, source=source, last_status=status, first_seen_at=now, last_fetched_at=now, **fresh
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["url_key"], set_=dict(last_status=status, last_fetched_at=now, **fresh)
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def record_crawl_run(self, run_id: str, source: str, counts: dict, median_body_words: float | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(crawl_runs.insert().values(
                run_id=run_id, source=source, finished_at=_utcnow(),
                counts=json.dumps(counts, sort_keys=True), median_body_words=median_body_words,
            ))

    def body_length_history(self, source: str, before_run: str) -> list[float]:
        """Median body lengths (words) of the source's earlier crawls that stored something."""
        stmt = sa.select(crawl_runs.c.median_body_words).where(
            crawl_runs.c.source == source, crawl_runs.c.run_id != before_run,
            crawl_runs.c.median_body_words.is_not(None),
        ).order_by(crawl_runs.c.id)
        with self.engine.connect() as conn:
            return [float(r[0]) for r in conn.execute(stmt)]

    # --- predictions -----------------------------------------------------------------------
    def passages_without_predictions(self, model_version: str) -> list[tuple[str, str]]:
        """Distinct (text_hash, text) of passages the given model has not classified yet."""
        done = sa.select(predictions.c.text_hash).where(predictions.c.model_version == model_version)
        stmt = (
            sa.select(passages.c.text_hash, sa.func.min(passages.c.text))
            .where(passages.c.text_hash.not_in(done))
            .group_by(passages.c.text_hash)
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt)]

    def unclassified_passage_ids(self, model_version: str) -> list[int]:
        """One passage id per distinct text the model has not classified yet (the smallest), in order.

        Cut into ranges, these are the batches a distributed classification hands out: a batch
        is two ids, not texts.
        """
        done = sa.select(predictions.c.text_hash).where(predictions.c.model_version == model_version)
        stmt = (sa.select(sa.func.min(passages.c.id)).where(passages.c.text_hash.not_in(done))
                .group_by(passages.c.text_hash).order_by(sa.func.min(passages.c.id)))
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def unclassified_in_id_range(self, model_version: str, first_id: int, last_id: int) -> list[tuple[str, str]]:
        """Distinct (text_hash, text) of passages with ids from ``first_id`` to ``last_id`` the model has not classified."""
        done = sa.select(predictions.c.text_hash).where(predictions.c.model_version == model_version)
        stmt = (sa.select(passages.c.text_hash, sa.func.min(passages.c.text))
                .where(passages.c.id >= first_id, passages.c.id <= last_id, passages.c.text_hash.not_in(done))
                .group_by(passages.c.text_hash).order_by(sa.func.min(passages.c.id)))
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt)]

    def passages_in_date_range(self, since, until) -> list[tuple[str, str]]:
        """Distinct (text_hash, text) of passages of documents published from ``since`` to ``until``, inclusive."""
        stmt = (
            sa.select(passages.c.text_hash, sa.func.min(passages.c.text))
            .select_from(passages.join(documents, passages.c.document_id == documents.c.id))
            .where(documents.c.published >= since, documents.c.published <= until)
            .group_by(passages.c.text_hash)
            .order_by(passages.c.text_hash)
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt)]

    def save_predictions(self, model_version: str, rows: Iterable[tuple[str, str, float, bool]], replace: bool = False) -> int:
        """Store (text_hash, theme, probability, label) rows for one model version.

        A row already stored is kept, unless ``replace`` (a backfill): then it is overwritten.
        """
        payload = [
            dict(text_hash=h, model_version=model_version, theme=t, probability=float(p), label=bool(lab))
            for h, t, p, lab in rows
        ]
        if not payload:
            return 0
        stmt = self._insert(predictions)
        if replace:
            stmt = stmt.on_conflict_do_update(index_elements=["text_hash", "model_version", "theme"],
                                              set_={"probability": stmt.excluded.probability, "label": stmt.excluded.label})
        else:
            stmt = stmt.on_conflict_do_nothing()
        with self.engine.begin() as conn:
            conn.execute(stmt, payload)
        return len(payload)

    # --- embeddings cache ------------------------------------------------------------------
    def cached_embeddings(self, encoder: str, hashes: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                stmt = sa.select(embeddings.c.text_hash, embeddings.c.vector).where(
                    embeddings.c.encoder == encoder, embeddings.c.text_hash.in_(chunk)
                )
                for h, blob in conn.execute(stmt):
                    out[h] = np.frombuffer(blob, dtype="<f4")
        return out

    def save_embeddings(self, encoder: str, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        payload = [
            dict(text_hash=h, encoder=encoder, vector=np.asarray(v, dtype="<f4").tobytes())
            for h, v in items.items()
        ]
        with self.engine.begin() as conn:
            conn.execute(self._insert(embeddings).on_conflict_do_nothing(), payload)

    # --- reads for aggregation -------------------------------------------------------------
    def source_counts(self) -> dict[str, dict[str, int]]:
        """Documents and passages per source."""
        stmt = (
            sa.select(
                documents.c.source,
                sa.func.count(sa.distinct(documents.c.id)),
                sa.func.count(passages.c.id),
            )
            .select_from(documents.outerjoin(passages, passages.c.document_id == documents.c.id))
            .group_by(documents.c.source)
        )
        with self.engine.connect() as conn:
            return {s: {"documents": d, "passages": p} for s, d, p in conn.execute(stmt)}


def _open_error(url: str, parsed: sa.engine.URL, exc: sa.exc.SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    first = next((line.strip() for line in str(cause).splitlines() if line.strip()), cause.__class__.__name__)
    if parsed.get_backend_name() == "sqlite":
        fix = "set the home setting (POLICYTRENDS_HOME) to a writable folder, or " + DB_URL_FIX
    else:
        fix = (f"check that the server is running and that host, port, user, password and database name are right; "
               f"{DB_URL_FIX}")
    return f"cannot open the corpus store at {shown_url(url)}: {first}; {fix}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the crawler process write while the flow process reads; foreign keys for CASCADE.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
