"""``SQLLimits``: rate grants and concurrency slots in SQLite or PostgreSQL, shared by
every process on the database (``flowstone_limits``, ``flowstone_limit_slots``).

A rate reservation is one statement: an upsert of the key's row that moves its next free
start on by one interval and returns it (``ON CONFLICT DO UPDATE`` locks the row on
PostgreSQL; SQLite's write transactions begin IMMEDIATE and take turns), so two processes
can never be given the same start. A slot claim locks the key's row first (the same
upsert), then counts the live leases and inserts its own in that transaction, so the
count and the insert cannot interleave with another claim (expired leases are deleted
when a claim is refused). Leases, not
session-level advisory locks: a pooled connection may be handed to another thread, and
a lock held by a session dies or survives with the connection rather than the holder.

On PostgreSQL these transactions commit with ``synchronous_commit = off``: grants and
leases are soft state, valid for seconds, and waiting for the WAL flush would cost a
disk sync (3-4 ms on the benchmark VM) per start. Only a crash of the database server
itself can lose the last fraction of a second of them (docs/decisions.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select, text, update

from flowstone._store.sql.barrier_reads import Scope
from flowstone._store.sql.schema import limit_slots, limits

if TYPE_CHECKING:
    from flowstone._store.sql.store import SQLStore

__all__ = ["SQLLimits"]

L = limits
H = limit_slots


class SQLLimits:
    """The limiter of an ``SQLStore``: it uses the store's engines, as they are when called."""

    shared = True

    def __init__(self, store: SQLStore) -> None:
        self._store = store

    def _write(self, doing: str) -> Any:
        return _Soft(Scope(self._store.url, self._store.engines.write, doing))

    def _upsert(self, connection: Connection, key: str, first: float, then: Any) -> Any:
        """``INSERT (key, first) ON CONFLICT (key) DO UPDATE SET next_start_at = then``."""
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - the dialect in use only
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # noqa: PLC0415
        statement = insert(L).values(key=key, next_start_at=first)
        return statement.on_conflict_do_update(index_elements=[L.c.key], set_={"next_start_at": then})

    def _greatest(self, connection: Connection, a: Any, b: Any) -> Any:
        return (func.greatest if connection.dialect.name == "postgresql" else func.max)(a, b)

    def reserve_start(self, key: str, interval: float, now: float) -> float:
        with self._write("reserve a rate start") as connection:
            then = self._greatest(connection, L.c.next_start_at, now) + interval
            statement = self._upsert(connection, key, now + interval, then).returning(L.c.next_start_at)
            following = float(connection.execute(statement).scalar_one())
        return following - interval

    def take_slot(self, key: str, n: int, holder: str, node: str, now: float, lease_until: float) -> float:
        with self._write("take a concurrency slot") as connection:
            # Lock the key's row (a no-op update of an existing one) before counting.
            connection.execute(self._upsert(connection, key, 0.0, L.c.next_start_at))
            live = (H.c.key == key, H.c.expires_at >= now)  # expired leases count for nothing
            count, earliest = connection.execute(
                select(func.count(), func.min(H.c.expires_at)).where(*live)
            ).one()
            if int(count) < n:
                connection.execute(
                    H.insert().values(key=key, holder=holder, node=node, expires_at=lease_until)
                )
                return 0.0
            connection.execute(delete(H).where(H.c.key == key, H.c.expires_at < now))  # tidy when full
            return max(float(earliest) - now, 0.0)

    def _lone(self, doing: str) -> Any:
        """For one self-contained statement: on PostgreSQL the claims' autocommit pool, whose
        commits do not wait for the WAL flush (one round trip, no BEGIN, SET or COMMIT); on
        SQLite a write transaction, as ``_write``."""
        return Scope(self._store.url, self._store.engines.claims, doing)

    def release_slot(self, key: str, holder: str) -> None:
        with self._lone("release a concurrency slot") as connection:
            connection.execute(delete(H).where(H.c.key == key, H.c.holder == holder))

    def renew_slots(self, node: str, lease_until: float) -> int:
        with self._lone("renew concurrency slots") as connection:
            result = connection.execute(update(H).where(H.c.node == node).values(expires_at=lease_until))
            return max(int(result.rowcount), 0)


class _Soft:
    """A write transaction that does not wait for its WAL flush on PostgreSQL."""

    def __init__(self, scope: Any) -> None:
        self._scope = scope

    def __enter__(self) -> Connection:
        connection: Connection = self._scope.__enter__()
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL synchronous_commit = off"))
        return connection

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        return bool(self._scope.__exit__(exc_type, exc, traceback))
