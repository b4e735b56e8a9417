"""What ``flowstone.sensors.asset_materialized`` reads: the partitions of an asset completed
since a cursor, from a SQL store (by record id) or a memory store (by finish time)."""

from __future__ import annotations

from typing import Any

from flowstone._store import MemoryStore

__all__ = ["completed_since"]

_BATCH = 10_000


def completed_since(store: Any, pipeline: str, asset: str, cursor: Any) -> tuple[list[str], Any]:
    """Partition keys completed after ``cursor``, oldest first, and the new cursor."""
    if isinstance(store, MemoryStore):
        return _memory(store, pipeline, asset, cursor)
    return _sql(store, pipeline, asset, cursor)


def _memory(store: MemoryStore, pipeline: str, asset: str, cursor: Any) -> tuple[list[str], Any]:
    with store._lock:
        state = store._pipelines.get(pipeline)
        records = list(state.records.values()) if state is not None else []
    done = sorted(
        (r.finished_at.isoformat(), r.partition_key)
        for r in records
        if r.asset == asset and r.status == "completed" and r.finished_at is not None
    )
    new = [pair for pair in done if cursor is None or list(pair) > list(cursor)][:_BATCH]
    return [key for _, key in new], (list(new[-1]) if new else cursor)


def _sql(store: Any, pipeline: str, asset: str, cursor: Any) -> tuple[list[str], Any]:
    from sqlalchemy import select  # noqa: PLC0415 - SQLAlchemy loads only for a database

    from flowstone._store.sql.schema import materializations as M  # noqa: PLC0415, N812

    query = (
        select(M.c.id, M.c.partition_key)
        .where(M.c.pipeline == pipeline, M.c.asset == asset, M.c.status == "completed")
        .order_by(M.c.id)
        .limit(_BATCH)
    )
    if cursor is not None:
        query = query.where(M.c.id > int(cursor))
    with store._read("read materializations in") as c:
        rows = c.execute(query).all()
    return [row.partition_key for row in rows], (int(rows[-1].id) if rows else cursor)
