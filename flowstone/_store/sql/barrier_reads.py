"""The reading half of ``SQLBarrier``: scatter heads, progress counts and result pages.

Split from the writes (``barrier.py``) so each stays one concept: nothing here changes a
row. Results stream a page at a time by keyset on the position.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from sqlalchemy import Connection, and_, bindparam, func, select

from flowstone._store.barrier import PAGE, Progress, ScatterHead
from flowstone._store.sql import precompiled
from flowstone._store.sql.engine import Engines, is_connection_error, translate, unavailable
from flowstone._store.sql.schema import scatter_units, scatters

__all__ = ["BarrierReads", "Scope", "StoreEngines", "head_of"]

S = scatters
U = scatter_units


def head_of(row: Any) -> ScatterHead:
    """The ``ScatterHead`` of a row of ``flowstone_scatters``."""
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


#: Open scatters with keys to run and a pipeline others can import (``helpable``).
_HELPABLE = (
    select(S)
    .where(S.c.state == "open", S.c.expanded == 1, S.c.pipeline_ref.is_not(None))
    .limit(bindparam("b_limit"))
)


class StoreEngines(Protocol):
    """What the barrier (and the limiter) need of their ``SQLStore``: its URL and its
    engines as they are now.

    A protocol, not an import of the store: the store imports this module.
    """

    url: str

    @property
    def engines(self) -> Engines: ...


class BarrierReads:
    """Reads of the scatter tables through the store's engines, as they are when called."""

    def __init__(self, store: StoreEngines) -> None:
        self._store = store

    def _ids(self, run_id: str, asset: str) -> Any:
        return and_(U.c.run_id == run_id, U.c.asset == asset)

    def _read(self, doing: str) -> Any:
        return Scope(self._store.url, self._store.engines.read, doing)

    def head(self, run_id: str, asset: str) -> ScatterHead | None:
        with self._read("read a scatter") as connection:
            row = connection.execute(select(S).where(S.c.run_id == run_id, S.c.asset == asset)).first()
            return None if row is None else head_of(row)

    def helpable(self, limit: int) -> list[ScatterHead]:
        """Open scatters another node may help with. Every node that works queues asks
        on each ``poll_interval`` (twenty times a second at 0.05), nearly always to find
        none: the statement is built once and, on PostgreSQL, runs on the driver's cursor
        (``precompiled``; issue 22)."""
        with self._read("find scatters to help") as connection:
            if connection.dialect.name == "postgresql":
                rows = precompiled.execute(connection, _HELPABLE, {"b_limit": limit})
            else:
                rows = connection.execute(_HELPABLE, {"b_limit": limit}).all()
            return [head_of(row) for row in rows]

    def find_open(self, pipeline: str, asset: str, partition_key: str) -> ScatterHead | None:
        with self._read("find an open scatter") as connection:
            row = connection.execute(
                select(S)
                .where(S.c.pipeline == pipeline, S.c.asset == asset, S.c.partition_key == partition_key)
                .where(S.c.state == "open")
                .limit(1)
            ).first()
            return None if row is None else head_of(row)

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


class Scope:
    """A ``with engine.begin()`` whose driver connection errors become ``StoreUnavailableError``
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
