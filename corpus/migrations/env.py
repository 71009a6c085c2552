"""Alembic's entry point, run by corpus.migrations with a connection it has already opened.

There is no alembic.ini: the store upgrades itself when it is opened (corpus.migrations.upgrade_store),
and `python -m policytrends.corpus.migrations` drives Alembic's commands for developers.
"""

from alembic import context

from policytrends.corpus.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("corpus migrations run through corpus.migrations (opening a CorpusStore upgrades it), not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
