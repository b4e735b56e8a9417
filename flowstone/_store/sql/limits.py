"""``SQLLimits``: rate grants and concurrency slots in SQLite or PostgreSQL, shared by
every process on the database (``flowstone_limits``, ``flowstone_limit_seats``).

A rate reservation is one statement: an upsert of the key's row that moves its next free
start on by one interval and returns it (``ON CONFLICT DO UPDATE`` locks the row on
PostgreSQL; SQLite's write transactions begin IMMEDIATE and take turns), so two processes
can never be given the same start.

A slots key has **seats**, rows 0 to n - 1 made on its first take (and when n grows).
Taking a slot is one statement, an ``UPDATE`` of the first free seat (never held, or its
lease expired) whose number is below n: no count, so no lock on the key to keep a count
and an insert together (counting took a row lock, the count-and-insert and a ``BEGIN`` and
``COMMIT``: four round trips on PostgreSQL; a seat is one). A release empties its
holder's seat and a renewal extends its node's held seats, one ``UPDATE`` each.

Why at most n hold a key: each seat has one holder, and a take only fills a seat below
n. On PostgreSQL the free seat is picked ``FOR UPDATE SKIP LOCKED``: a seat another take
(or a release) has locked is passed over, not waited for, and the one picked is locked
and checked again as it is now (READ COMMITTED re-reads a row updated since the
statement began), so two takes can never fill one seat, and neither waits on the other.
Passing over a locked seat can refuse a take that a moment later would have succeeded:
the take then looks at the seats, tries once more, and else answers a short wait (the
gate retries), never an extra holder. SQLite has no row locks: its write transactions
take turns (``BEGIN IMMEDIATE``). When n shrinks, seats at or above the new n are never
filled, and while any of them is still held no seat is: every live holder is then in one
of the n seats below n, so the holders never outnumber the new n either (a rule "fill
seats below n minus those held above it" would not do: with seats 0-4 held, n lowered to
3 and seat 0 released, it fills seat 0 for a fifth holder). A lease that expired and was
taken over is the new holder's (the old holder's renewal and release miss it).

Leases, not session-level advisory locks: a pooled connection may be handed to another
thread, and a lock held by a session dies or survives with the connection rather than the
holder. On PostgreSQL the limiter's writes commit with ``synchronous_commit = off``
(slots on the claims' autocommit pool, whose sessions already run so): grants and leases
are soft state, valid for seconds, and waiting for the WAL flush would cost a disk sync
(3-4 ms on the benchmark VM) per start. Only a crash of the database server itself can
lose the last fraction of a second of them (docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    not_,
    null,
    or_,
    select,
    update,
)

from flowstone._store.sql.barrier_reads import Scope, StoreEngines
from flowstone._store.sql.schema import limit_seats, limits

__all__ = ["SQLLimits"]

L = limits
S = limit_seats


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
        lease = {
            "b_key": key,
            "b_n": n,
            "b_now": now,
            "b_holder": holder,
            "b_node": node,
            "b_until": lease_until,
        }
        with self._lone("take a concurrency slot") as connection:
            if connection.execute(_TAKE, lease).first() is not None:  # (rowcount is -1 on psycopg)
                return 0.0
            made, high, earliest, first_free = connection.execute(_SEATS, lease).one()
            # A free seat below n the take did not fill (locked, or freed since), if none above n
            # is held (until those finish, nobody joins them: see the module docstring).
            skipped = first_free is not None and int(first_free) < n and not int(high)
            if int(made) < n:  # first use of the key, or n grew: make its seats, then try again
                for chunk in range(0, n, _CHUNK):
                    seats = range(chunk, min(chunk + _CHUNK, n))
                    connection.execute(_missing(connection, key, seats))
            if (int(made) < n or skipped) and connection.execute(_TAKE, lease).first() is not None:
                return 0.0
        if skipped or earliest is None:  # a seat was busy for an instant: try again soon
            return _SOON
        return max(float(earliest) - now, _SOON)

    def _lone(self, doing: str) -> Any:
        """For self-contained statements: on PostgreSQL the claims' autocommit pool, whose
        commits do not wait for the WAL flush (one round trip each, no BEGIN, SET or
        COMMIT); on SQLite a write transaction, as ``_write``."""
        return Scope(self._store.url, self._store.engines.claims, doing)

    def release_slot(self, key: str, holder: str) -> None:
        with self._lone("release a concurrency slot") as connection:
            connection.execute(_RELEASE, {"b_key": key, "b_holder": holder})

    def renew_slots(self, node: str, lease_until: float) -> int:
        with self._lone("renew concurrency slots") as connection:
            result = connection.execute(_RENEW, {"b_node": node, "b_until": lease_until})
            return max(int(result.rowcount), 0)


def _missing(connection: Connection, key: str, seats: range) -> Any:
    """``INSERT`` the seats of ``key`` numbered ``seats`` that do not exist yet."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - the dialect in use only
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # noqa: PLC0415
    rows = [{"key": key, "seat": seat, "expires_at": 0.0} for seat in seats]
    return insert(S).values(rows).on_conflict_do_nothing(index_elements=[S.c.key, S.c.seat])


def _statements() -> tuple[Any, Any, Any, Any]:
    """The take, the refused take's look at the seats, the release and the renewal, built
    once with bound parameters (``b_key``, ``b_n``, ``b_now``, ``b_holder``, ``b_node``, ``b_until``)."""
    key, holder, node = (bindparam(name, type_=String) for name in ("b_key", "b_holder", "b_node"))
    n, now, until = (
        bindparam("b_n", type_=Integer),
        bindparam("b_now", type_=Float),
        bindparam("b_until", type_=Float),
    )
    above, free = S.alias("above"), S.alias("free")
    held_above = (  # a live holder of a seat >= n, left from a larger n: none may join it
        select(above.c.seat)
        .where(above.c.key == key, above.c.seat >= n, above.c.holder.is_not(None), above.c.expires_at >= now)
        .correlate(None)
        .exists()
    )
    first_free = (
        select(free.c.seat)
        .where(free.c.key == key, free.c.seat < n, ~held_above)
        .where(or_(free.c.holder.is_(None), free.c.expires_at < now))  # free: never held, or expired
        .order_by(free.c.seat)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's writes take turns anyway
        .correlate(None)
        .scalar_subquery()
    )
    take = (
        update(S)
        .where(S.c.key == key, S.c.seat == first_free)
        # Checked again on the row as locked (the subquery's lock already ensures it).
        .where(or_(S.c.holder.is_(None), S.c.expires_at < now))
        .values(holder=holder, node=node, expires_at=until)
        .returning(S.c.seat)
    )
    live = and_(S.c.holder.is_not(None), S.c.expires_at >= now)
    seats = select(
        func.count(case((S.c.seat < n, 1))),
        func.count(case((and_(S.c.seat >= n, live), 1))),
        func.min(case((live, S.c.expires_at))),
        func.min(case((and_(S.c.seat < n, not_(live)), S.c.seat))),
    ).where(S.c.key == key)
    release = update(S).where(S.c.key == key, S.c.holder == holder).values(holder=null(), node=null())
    renew = update(S).where(S.c.node == node, S.c.holder.is_not(None)).values(expires_at=until)
    return take, seats, release, renew


_TAKE, _SEATS, _RELEASE, _RENEW = _statements()
_CHUNK = 1000  # seats made per INSERT (SQLite binds at most 32,766 parameters a statement)
_SOON = 0.001  # a refusal's wait when a seat was busy for an instant (the gate's floor applies)


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
