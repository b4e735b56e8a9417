"""What the job queries share: the database clock, dialect-specific inserts, and NOTIFY."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from flowstone._store.sql.history import aware  # re-exported for the job queries

__all__ = ["NOTIFY_CHANNEL", "SQLBase", "aware"]


NOTIFY_CHANNEL = "flowstone_jobs"


class SQLBase:
    """Holds the store; every time comparison uses the database clock (``now``)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def now(self, c: Connection, offset: float = 0.0) -> ColumnElement[Any]:
        """The database's current time, shifted by ``offset`` seconds."""
        if c.dialect.name == "postgresql":
            base = func.now()
            if offset:
                return base + func.make_interval(0, 0, 0, 0, 0, 0, literal(float(offset)))
            return base
        modifier = f"{offset:+.6f} seconds"
        return func.strftime("%Y-%m-%d %H:%M:%f000", "now", modifier)

    def _insert(self, c: Connection) -> Any:
        return postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert

    def _notify(self, c: Connection, queues: Iterable[str]) -> None:
        if c.dialect.name == "postgresql":
            for queue in sorted(set(queues)):
                c.execute(
                    text("SELECT pg_notify(:channel, :queue)"), {"channel": NOTIFY_CHANNEL, "queue": queue}
                )
