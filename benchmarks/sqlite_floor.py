"""The floor of a chain's asset on SQLite: the store's statements on a bare ``sqlite3`` connection.

Per asset, the same write transaction as the store's completion in a chain: ``BEGIN
IMMEDIATE``, the record marked completed, the value upserted, the lineage replaced (a
delete and a one-edge insert), the next asset's record marked running, ``COMMIT``. It
runs on the store's own file, so the tables, indexes and triggers (the partition
summary, the lineage's data version) are the store's; the pragmas are the store's
(WAL, ``synchronous=NORMAL``), and no checkpoint runs inside the loop. What it leaves
out is everything around the statements: the engine, the runner, and the store's Python.

Used by ``bench_store.py``; ``python benchmarks/sqlite_floor.py DB`` prints it for a
database that the store has migrated.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

__all__ = ["chain_floor_ms"]

_RECORD = (
    "INSERT INTO flowstone_materializations (pipeline, asset, partition_key, run_id, status, attempts) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_COMPLETE = (
    "UPDATE flowstone_materializations SET status = 'completed', attempts = ?, finished_at = ?, "
    "duration_ms = ?, code_version = ? WHERE pipeline = ? AND asset = ? AND partition_key = ? "
    "AND run_id = ? AND status = 'running'"
)
_VALUE = (
    "INSERT INTO flowstone_values (pipeline, asset, partition_key, format, data, data_json, size, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pipeline, asset, partition_key) DO UPDATE "
    "SET format = excluded.format, data = excluded.data, data_json = excluded.data_json, "
    "size = excluded.size, updated_at = excluded.updated_at"
)
_UNLINK = "DELETE FROM flowstone_lineage WHERE pipeline = ? AND asset = ? AND partition_key = ?"
_LINK = (
    "INSERT INTO flowstone_lineage (pipeline, run_id, asset, partition_key, upstream_asset, "
    "upstream_partition_key) VALUES (?, ?, ?, ?, ?, ?)"
)
_PREMARK = (
    "UPDATE flowstone_materializations SET status = 'running', attempts = 1, started_at = ? "
    "WHERE pipeline = ? AND asset = ? AND partition_key = ? AND run_id = ? AND status = 'pending'"
)


def _chain(connection: sqlite3.Connection, length: int) -> float:
    """Seconds per asset for one chain of ``length`` assets on a fresh partition."""
    run_id, key, pipeline = uuid.uuid4().hex, uuid.uuid4().hex[:8], "bench_floor"
    assets = [f"a{i:03d}" for i in range(length)]
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        _RECORD,
        [(pipeline, a, key, run_id, "running" if i == 0 else "pending", 0) for i, a in enumerate(assets)],
    )
    connection.execute("COMMIT")
    started = time.perf_counter()
    for i, asset in enumerate(assets):
        at = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S.%f}"
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(_COMPLETE, (1, at, 0.01, None, pipeline, asset, key, run_id))
        connection.execute(_VALUE, (pipeline, asset, key, "msgpack", b"\x01", None, 1, at))
        if i:
            connection.execute(_UNLINK, (pipeline, asset, key))
            connection.executemany(_LINK, [(pipeline, run_id, asset, key, assets[i - 1], key)])
        if i + 1 < length:
            connection.executemany(_PREMARK, [(at, pipeline, assets[i + 1], key, run_id)])
        connection.execute("COMMIT")
    return (time.perf_counter() - started) / length


def chain_floor_ms(database: str, length: int = 100, reps: int = 3) -> list[float]:
    """ms per asset of ``reps`` chains (after one warm-up) on ``database``, a migrated store file."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        _chain(connection, length)
        return [_chain(connection, length) * 1e3 for _ in range(reps)]
    finally:
        connection.close()


if __name__ == "__main__":
    runs = chain_floor_ms(sys.argv[1])
    spread = f"{min(runs):.3f}–{max(runs):.3f}"
    print(f"bare sqlite3 chain floor: {statistics.median(runs):.3f} ms per asset ({spread})")
