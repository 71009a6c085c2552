"""Index documents on (source, content_hash) in place of source alone.

The crawler asks, for every article it stores, whether the same source already holds this
exact text under another URL (``CorpusStore.content_hash_owner``). With only an index on
``source`` that question reads every document of the source, so a crawl of a source with
n articles costs n^2 row reads. The composite index answers it with one lookup, and it
still serves every query that filtered or grouped on ``source`` alone (its first column),
so the old index is dropped rather than kept beside it.

Both steps tolerate an index already made or already gone, so a rerun after an
interrupted upgrade, or a store someone indexed by hand, upgrades all the same.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new index first: the table is never left without one on source.
    op.create_index("ix_documents_source_content_hash", "documents", ["source", "content_hash"], if_not_exists=True)
    op.drop_index("ix_documents_source", table_name="documents", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_documents_source", "documents", ["source"], if_not_exists=True)
    op.drop_index("ix_documents_source_content_hash", table_name="documents", if_exists=True)
