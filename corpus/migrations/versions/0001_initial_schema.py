"""The corpus store as it was before migrations: documents, passages, predictions, embeddings, crawl state and runs.

Stores created before migrations existed (``metadata.create_all``, no ``alembic_version``
table) hold exactly this schema; ``corpus.migrations`` stamps them with this revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def schema() -> sa.MetaData:
    """The tables of this revision, frozen here: later edits to corpus/store.py do not change them."""
    md = sa.MetaData()
    sa.Table(
        "documents", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("canonical_url", sa.Text, nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("authors", sa.Text, nullable=False),
        sa.Column("published", sa.Date, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("extraction_method", sa.Text, nullable=False),
        sa.Column("http_status", sa.Integer, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("segmented_hash", sa.String(64), nullable=True),
        sa.Index("ix_documents_source", "source"),
        sa.Index("ix_documents_published", "published"),
    )
    sa.Table(
        "passages", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("document_id", "position", name="uq_passage_position"),
        sa.Index("ix_passages_text_hash", "text_hash"),
    )
    sa.Table(
        "predictions", md,
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("model_version", sa.Text, primary_key=True),
        sa.Column("theme", sa.Text, primary_key=True),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("label", sa.Boolean, nullable=False),
    )
    sa.Table(
        "embeddings", md,
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("encoder", sa.Text, primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    sa.Table(
        "crawl_state", md,
        sa.Column("url_key", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("etag", sa.Text, nullable=True),
        sa.Column("last_modified", sa.Text, nullable=True),
        sa.Column("sitemap_lastmod", sa.Text, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("canonical_url", sa.Text, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_crawl_state_source", "source"),
    )
    sa.Table(
        "crawl_runs", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("median_body_words", sa.Float, nullable=True),
        sa.Index("ix_crawl_runs_run_id", "run_id"),
        sa.Index("ix_crawl_runs_source", "source"),
    )
    return md


def upgrade() -> None:
    schema().create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    schema().drop_all(op.get_bind(), checkfirst=False)
