"""The SQL store: SQLite (embedded) or PostgreSQL, migrated with alembic."""

from flowstone._store.sql.store import SQLStore
from flowstone._store.sql.values import SQLValues

__all__ = ["SQLStore", "SQLValues"]
