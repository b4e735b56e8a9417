"""``SQLBarrier``: the scatter barrier in SQLite or PostgreSQL (``flowstone_scatter_units``).

Each method is one transaction. A claim locks the scatter's head row first (``SELECT …
FOR UPDATE`` on PostgreSQL; SQLite's write transactions begin IMMEDIATE and so take turns)
so that two workers counting the running units to respect ``max_running`` can never both
see room for the same slot. Units are written with ``ON CONFLICT DO NOTHING``: the unique
digest in the database, not a Python set, makes a duplicate key run once, and a resumed
scatter rewriting a page it had written changes nothing. Results stream a page at a time
by keyset on the position.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, and_, case, delete, func, or_, select, text, update

from flowstone._store.barrier import PAGE, HeadState, NewUnit, Progress, ScatterHead, Unit
from flowstone._store.memory_barrier import rate_allows
from flowstone._store.sql.engine import Engines, is_connection_error, translate, unavailable
from flowstone._store.sql.schema import scatter_units, scatters

__all__ = ["SQLBarrier"]

S = scatters
U = scatter_units


def _head(row: Any) -> ScatterHead:
    return ScatterHead(
        row.pipeline,
        row.run_id,
        row.asset,
        row.partition_key,
        row.state,
        row.cursor,
        int(row.next_position),
        bool(row.expanded),
        None if row.total is None else int(row.total),
        float(row.next_start_at),
        row.pipeline_ref,
    )


ANALYZE_FROM = 1_000
"""A scatter with this many keys or more refreshes the planner's statistics (PostgreSQL)."""


class _Owner(Protocol):
    """What the barrier needs of its ``SQLStore``: its URL and its engines as they are now.

    A protocol, not an import of the store: the store imports this module.
    """

    url: str

    @property
    def engines(self) -> Engines: ...


class SQLBarrier:
    """The barrier of an ``SQLStore``: it uses the store's engines, as they are when called."""

    def __init__(self, store: _Owner) -> None:
        self._store = store

    def _ids(self, run_id: str, asset: str) -> Any:
        return and_(U.c.run_id == run_id, U.c.asset == asset)

    def _write(self, doing: str) -> Any:
        engines = self._store.engines
        return _Scope(self._store.url, engines.write, doing)

    def _read(self, doing: str) -> Any:
        return _Scope(self._store.url, self._store.engines.read, doing)

    def _insert(self, connection: Connection, table: Any) -> Any:
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - the dialect in use only

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite  # noqa: PLC0415

        return sqlite.insert(table)

    def begin(
        self, pipeline: str, run_id: str, asset: str, partition_key: str, pipeline_ref: str | None = None
    ) -> ScatterHead:
        with self._write("begin a scatter") as connection:
            statement = self._insert(connection, S).on_conflict_do_nothing()
            connection.execute(
                statement,
                {
                    "run_id": run_id,
                    "asset": asset,
                    "pipeline": pipeline,
                    "partition_key": partition_key,
                    "state": "open",
                    "cursor": None,
                    "next_position": 0,
                    "expanded": 0,
                    "total": None,
                    "next_start_at": 0.0,
                    "pipeline_ref": pipeline_ref,
                },
            )
            row = connection.execute(select(S).where(S.c.run_id == run_id, S.c.asset == asset)).one()
            return _head(row)

    def head(self, run_id: str, asset: str) -> ScatterHead | None:
        with self._read("read a scatter") as connection:
            row = connection.execute(select(S).where(S.c.run_id == run_id, S.c.asset == asset)).first()
            return None if row is None else _head(row)

    def helpable(self, limit: int) -> list[ScatterHead]:
        with self._read("find scatters to help") as connection:
            rows = connection.execute(
                select(S)
                .where(S.c.state == "open", S.c.expanded == 1, S.c.pipeline_ref.is_not(None))
                .limit(limit)
            ).all()
            return [_head(row) for row in rows]

    def find_open(self, pipeline: str, asset: str, partition_key: str) -> ScatterHead | None:
        with self._read("find an open scatter") as connection:
            row = connection.execute(
                select(S)
                .where(S.c.pipeline == pipeline, S.c.asset == asset, S.c.partition_key == partition_key)
                .where(S.c.state == "open")
                .limit(1)
            ).first()
            return None if row is None else _head(row)

    def add(
        self,
        run_id: str,
        asset: str,
        units: Sequence[NewUnit],
        *,
        cursor: bytes | None,
        next_position: int,
        expanded: bool,
        total: int | None = None,
    ) -> int:
        with self._write("write scatter keys") as connection:
            new = 0
            if units:
                # RETURNING counts the rows written (an executemany's rowcount may not).
                statement = self._insert(connection, U).on_conflict_do_nothing().returning(U.c.position)
                rows = [
                    {
                        "run_id": run_id,
                        "asset": asset,
                        "position": u.position,
                        "digest": u.digest,
                        "key": u.key,
                        "state": "pending",
                        "attempts": 0,
                    }
                    for u in units
                ]
                new = len(connection.execute(statement, rows).all())
            values: dict[str, Any] = {
                "cursor": cursor,
                "next_position": next_position,
                "expanded": int(expanded),
            }
            if expanded and total is None:
                total = connection.execute(select(func.count()).where(self._ids(run_id, asset))).scalar_one()
            if total is not None:
                values["total"] = total
            connection.execute(update(S).where(S.c.run_id == run_id, S.c.asset == asset).values(**values))
            postgres = connection.dialect.name == "postgresql"
        if postgres and expanded and (total or 0) >= ANALYZE_FROM:
            self._analyze()
        return new

    def _analyze(self) -> None:
        """Refresh PostgreSQL's statistics of the units table once a big scatter's keys are
        written. Without them (a table filled faster than autovacuum looks) the planner
        picks the ``(run_id, asset, state, position)`` index for ``position IN (...)`` and
        filters every row of the scatter: each claim and commit read all its keys
        (12 ms at 30,000 keys, against 0.3 ms by the primary key once analyzed)."""
        with self._write("analyze scatter keys") as connection:
            connection.execute(text("ANALYZE flowstone_scatter_units"))

    def claim(
        self,
        run_id: str,
        asset: str,
        *,
        holder: str,
        limit: int,
        lease_until: float,
        now: float,
        max_running: int | None = None,
        interval: float | None = None,
        burst: int = 1,
    ) -> list[Unit]:
        with self._write("claim scatter keys") as connection:
            head = connection.execute(
                select(S.c.state, S.c.next_start_at)
                .where(S.c.run_id == run_id, S.c.asset == asset)
                .with_for_update()
            ).first()
            if head is None or head.state != "open":
                return []
            wanted = limit
            if max_running is not None:
                running = connection.execute(
                    select(func.count()).where(
                        self._ids(run_id, asset), U.c.state == "running", U.c.lease_until >= now
                    )
                ).scalar_one()
                wanted = min(wanted, max_running - int(running))
            if wanted <= 0:
                return []
            claimable = or_(U.c.state == "pending", and_(U.c.state == "running", U.c.lease_until < now))
            # Two index range scans on (run_id, asset, state, position), each reading at most
            # ``wanted`` rows: one query with the OR walks the primary key in position order
            # past every finished row, so each claim got slower as the scatter advanced.
            found: list[int] = []
            for state, extra in (("pending", None), ("running", U.c.lease_until < now)):
                query = select(U.c.position).where(self._ids(run_id, asset), U.c.state == state)
                if extra is not None:
                    query = query.where(extra)
                found += [
                    row.position for row in connection.execute(query.order_by(U.c.position).limit(wanted))
                ]
            positions = sorted(found)[:wanted]
            if interval is not None and positions:
                allowed, next_start = rate_allows(
                    float(head.next_start_at), now, interval, burst, len(positions)
                )
                positions = positions[:allowed]
                connection.execute(
                    update(S).where(S.c.run_id == run_id, S.c.asset == asset).values(next_start_at=next_start)
                )
            if not positions:
                return []
            rows = connection.execute(
                update(U)
                .where(self._ids(run_id, asset), U.c.position.in_(positions), claimable)
                .values(state="running", holder=holder, lease_until=lease_until, attempts=U.c.attempts + 1)
                .returning(U.c.position, U.c.key, U.c.attempts)
            ).all()
            return sorted(
                (Unit(int(r.position), r.key, int(r.attempts)) for r in rows), key=lambda u: u.position
            )

    def renew(
        self, run_id: str, asset: str, holder: str, positions: Sequence[int], lease_until: float
    ) -> int:
        with self._write("renew scatter leases") as connection:
            result = connection.execute(
                update(U)
                .where(self._ids(run_id, asset), U.c.position.in_(list(positions)))
                .where(U.c.state == "running", U.c.holder == holder)
                .values(lease_until=lease_until)
            )
            return max(int(result.rowcount), 0)

    def _end(self, run_id: str, asset: str, position: int, holder: str, doing: str, **values: Any) -> bool:
        with self._write(doing) as connection:
            result = connection.execute(
                update(U)
                .where(self._ids(run_id, asset), U.c.position == position)
                .where(U.c.state == "running", U.c.holder == holder)
                .values(holder=None, lease_until=None, **values)
            )
            return bool(result.rowcount == 1)

    def complete(
        self, run_id: str, asset: str, position: int, holder: str, result: bytes, now: float
    ) -> bool:
        return self._end(
            run_id,
            asset,
            position,
            holder,
            "complete a scatter key",
            state="done",
            result=result,
            finished_at=now,
        )

    def fail(self, run_id: str, asset: str, position: int, holder: str, error: str, now: float) -> bool:
        return self._end(
            run_id,
            asset,
            position,
            holder,
            "fail a scatter key",
            state="failed",
            error=error,
            finished_at=now,
        )

    def finish_units(
        self,
        run_id: str,
        asset: str,
        holder: str,
        done: Sequence[tuple[int, bytes]],
        failed: Sequence[tuple[int, str]],
        now: float,
    ) -> set[int]:
        positions = [p for p, _ in done] + [p for p, _ in failed]
        if not positions:
            return set()
        with self._write("finish scatter keys") as connection:
            # Lock the rows still ours first: a unit whose lease ran out (and was claimed
            # again elsewhere) is left alone, and nothing can take one before the update.
            mine = {
                int(row.position)
                for row in connection.execute(
                    select(U.c.position)
                    .where(self._ids(run_id, asset), U.c.position.in_(positions))
                    .where(U.c.state == "running", U.c.holder == holder)
                    .with_for_update()
                )
            }
            cleared = {"holder": None, "lease_until": None, "finished_at": now}
            # One UPDATE per kind and chunk, each row's value by CASE on its position: an
            # executemany is a round trip per row on PostgreSQL.
            for state, column, pairs in (("done", "result", done), ("failed", "error", failed)):
                rows = [(p, v) for p, v in pairs if p in mine]
                for start in range(0, len(rows), 500):
                    chunk = dict(rows[start : start + 500])
                    connection.execute(
                        update(U)
                        .where(self._ids(run_id, asset), U.c.position.in_(list(chunk)))
                        .values(state=state, **{column: case(chunk, value=U.c.position)}, **cleared)
                    )
            return mine

    def release(self, run_id: str, asset: str, holder: str) -> int:
        with self._write("release scatter keys") as connection:
            result = connection.execute(
                update(U)
                .where(self._ids(run_id, asset), U.c.state == "running", U.c.holder == holder)
                .values(state="pending", holder=None, lease_until=None, attempts=U.c.attempts - 1)
            )
            return max(int(result.rowcount), 0)

    def progress(self, run_id: str, asset: str) -> Progress | None:
        with self._read("read scatter progress") as connection:
            head = connection.execute(
                select(S.c.total, S.c.state).where(S.c.run_id == run_id, S.c.asset == asset)
            ).first()
            if head is None:
                return None
            counts = dict(
                connection.execute(
                    select(U.c.state, func.count()).where(self._ids(run_id, asset)).group_by(U.c.state)
                ).all()
            )
            return Progress(
                None if head.total is None else int(head.total),
                int(counts.get("done", 0)),
                int(counts.get("failed", 0)),
                int(counts.get("running", 0)),
                head.state,
            )

    def _pages(self, run_id: str, asset: str, state: str, column: Any, page: int) -> Iterator[Any]:
        after = -1
        while True:
            with self._read("read scatter results") as connection:
                rows = connection.execute(
                    select(U.c.position, U.c.key, column)
                    .where(self._ids(run_id, asset), U.c.state == state, U.c.position > after)
                    .order_by(U.c.position)
                    .limit(page)
                ).all()
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1].position

    def results(self, run_id: str, asset: str, page: int = PAGE) -> Iterator[tuple[int, bytes, bytes]]:
        for row in self._pages(run_id, asset, "done", U.c.result, page):
            yield int(row.position), row.key, row.result

    def failures(self, run_id: str, asset: str, page: int = PAGE) -> Iterator[tuple[int, bytes, str]]:
        for row in self._pages(run_id, asset, "failed", U.c.error, page):
            yield int(row.position), row.key, row.error or ""

    def finish(self, run_id: str, asset: str, *, from_states: Sequence[HeadState], to: HeadState) -> bool:
        with self._write("end a scatter") as connection:
            result = connection.execute(
                update(S)
                .where(S.c.run_id == run_id, S.c.asset == asset, S.c.state.in_(list(from_states)))
                .values(state=to)
            )
            return bool(result.rowcount == 1)

    def discard(self, run_id: str, asset: str) -> int:
        with self._write("discard a scatter") as connection:
            removed = connection.execute(delete(U).where(self._ids(run_id, asset))).rowcount
            connection.execute(delete(S).where(S.c.run_id == run_id, S.c.asset == asset))
            return max(int(removed), 0)


class _Scope:
    """``with engine.begin()`` whose driver connection errors become ``StoreUnavailableError``
    (as the store's own transactions do)."""

    def __init__(self, url: str, engine: Any, doing: str) -> None:
        self._url = url
        self._engine = engine
        self._doing = doing
        self._context: Any = None

    def __enter__(self) -> Connection:
        with translate(self._url, self._doing):
            self._context = self._engine.begin()
            connection: Connection = self._context.__enter__()
            return connection

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        with translate(self._url, self._doing):
            suppressed = bool(self._context.__exit__(exc_type, exc, traceback))
        if exc is not None and is_connection_error(exc):
            raise unavailable(self._url, exc, self._doing) from exc
        return suppressed
