"""Alembic environment: always run with a connection handed in by ``flowstone._store.sql.migrate``."""

from __future__ import annotations

from alembic import context

from flowstone._store.sql.migrate import VERSION_TABLE
from flowstone._store.sql.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
