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

from typing import Any

from sqlalchemy import Connection, Float, delete, func, literal, select, update

from flowstone._store.sql.barrier_reads import Scope, StoreEngines
from flowstone._store.sql.schema import limit_slots, limits

__all__ = ["SQLLimits"]

L = limits
H = limit_slots


class SQLLimits:
    """The limiter of an ``SQLStore``: it uses the store's engines, as they are when called."""

    shared = True

    def __init__(self, store: StoreEngines) -> None:
        self._store = store

    def _write(self, doing: str) -> Any:
        engines = self._store.engines
        explicit = engines.dialect == "postgresql"
        return _Soft(Scope(self._store.url, engines.claims, doing), explicit=explicit)

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
            # Count and insert in one statement (the row lock above orders the claims).
            held = select(func.count()).where(*live).scalar_subquery()
            lease = select(
                literal(key), literal(holder), literal(node), literal(lease_until, type_=Float)
            ).where(held < n)
            columns = [H.c.key, H.c.holder, H.c.node, H.c.expires_at]
            taken = H.insert().from_select(columns, lease).returning(H.c.holder)
            if connection.execute(taken).first() is not None:  # (rowcount is -1 on psycopg)
                return 0.0
            earliest = connection.execute(select(func.min(H.c.expires_at)).where(*live)).scalar()
            connection.execute(delete(H).where(H.c.key == key, H.c.expires_at < now))  # tidy when full
            return 0.0 if earliest is None else max(float(earliest) - now, 0.0)

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
    """A write transaction that does not wait for its WAL flush on PostgreSQL.

    There it is an explicit ``BEGIN`` … ``COMMIT`` on the claims' autocommit pool, whose
    sessions already run with ``synchronous_commit = off``: one round trip fewer than a
    ``SET LOCAL`` in every transaction. On SQLite the scope is the write engine's own
    ``BEGIN IMMEDIATE`` transaction.
    """

    def __init__(self, scope: Any, *, explicit: bool) -> None:
        self._scope = scope
        self._explicit = explicit
        self._connection: Connection | None = None

    def __enter__(self) -> Connection:
        connection: Connection = self._scope.__enter__()
        if self._explicit:
            try:
                connection.exec_driver_sql("BEGIN")
            except BaseException as exc:
                self._scope.__exit__(type(exc), exc, exc.__traceback__)
                raise
        self._connection = connection
        return connection

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        if self._explicit and self._connection is not None:
            try:
                self._connection.exec_driver_sql("COMMIT" if exc is None else "ROLLBACK")
            except BaseException as ended:
                if exc is not None:  # the first error is the one to report
                    return bool(self._scope.__exit__(exc_type, exc, traceback))
                self._scope.__exit__(type(ended), ended, ended.__traceback__)
                raise
        return bool(self._scope.__exit__(exc_type, exc, traceback))
