"""Whole runs written together: the rows of a backfill's batch, or of a queue's group commit.

A row per table per run. SQLite writes each table with one ``executemany`` of the driver,
run in its C loop; PostgreSQL writes all tables in one statement (``recordsets``), which can
also complete the runs' jobs. One commit then covers the whole batch, which is where
the time of a small materialization goes otherwise.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite

from flowstone._store.records import WholeRun
from flowstone._store.sql import recordsets, statements
from flowstone._store.sql.history import audit_row, replace_edges
from flowstone._store.sql.values import COLUMNS as VALUE_COLUMNS
from flowstone._store.sql.values import SQLValues, upsert_statement
from flowstone._tags import encode_tags, tagged
from flowstone.io import AssetKey

__all__ = ["BatchRows", "write_runs"]

Key = tuple[str, str, str]  # pipeline, asset, partition key


@dataclass(slots=True)
class BatchRows:
    """The rows of whole runs, per table; ``run_ids`` of audit rows and values say whose.

    Values and lineage are keyed by pipeline, asset and partition: a partition listed
    twice keeps its last value and lineage (one statement may not upsert a row twice).
    """

    runs: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    audit_run_ids: list[str] = field(default_factory=list)
    stored: dict[Key, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    edges: dict[Key, tuple[str, list[dict[str, str]]]] = field(default_factory=dict)
    #: How the rows hold timestamps: as they are (None), or turned into what the writer
    #: sends, once per run (PostgreSQL's JSON recordsets take ISO text: ``datetime.isoformat``;
    #: converting them in ``json.dumps``'s ``default`` cost a Python call per value).
    stamp: Callable[[datetime], Any] | None = None

    @classmethod
    def of(
        cls,
        runs: Sequence[WholeRun],
        holds: Callable[[Any], bool],
        stamp: Callable[[datetime], Any] | None = None,
    ) -> BatchRows:
        rows = cls(stamp=stamp)
        for run in runs:
            rows._add(run, holds)
        return rows

    def _add(self, run: WholeRun, holds: Callable[[Any], bool]) -> None:
        start, done, failure = run.start, run.completion, run.failure
        end = done or failure
        if end is None:
            raise ValueError(f"run {start.run_id} has neither a completion nor a failure")
        error = None if failure is None else failure.error
        status = "failed" if failure is not None else "completed"
        stamp = self.stamp
        started_at, ended_at = (start.at, end.at) if stamp is None else (stamp(start.at), stamp(end.at))
        resource = f"{start.pipeline}/{start.asset}/{start.partition_key}"
        self.runs.append(
            {
                "run_id": start.run_id,
                "pipeline": start.pipeline,
                "asset": start.asset,
                "partition_key": start.partition_key,
                "status": status,
                "options": options_json(start.options),
                "started_at": started_at,
                "finished_at": ended_at,
                "error": error,
                "tags": encode_tags(start.tags),
            }
        )
        self.records.append(
            {
                "pipeline": start.pipeline,
                "asset": start.asset,
                "partition_key": start.partition_key,
                "run_id": start.run_id,
                "status": status,
                "attempts": end.attempts,
                "started_at": started_at,
                "finished_at": ended_at,
                "duration_ms": None if done is None else done.duration_ms,
                "code_version": None if done is None else done.code_version,
                "error": error,
            }
        )
        started = {"run_id": start.run_id, "plan": list(start.plan), **start.options, **tagged(start.tags)}
        self.audits.append(audit_row(started_at, "run.started", start.actor, resource, "start", started))
        ended = ("run.failed", "fail") if failure else ("run.finished", "finish")
        details = {"run_id": start.run_id, "error": error, **tagged(start.tags)}
        self.audits.append(audit_row(ended_at, ended[0], end.actor, resource, ended[1], details))
        self.audit_run_ids += [start.run_id, start.run_id]
        if done is None:
            return
        key = (start.pipeline, start.asset, start.partition_key)
        if run.payload is not None and isinstance(run.io, SQLValues) and holds(run.io):
            asset_key = AssetKey(start.pipeline, start.asset, start.partition_key)
            stored = run.io.row(asset_key, run.payload, done.at)
            if stamp is not None:
                stored["updated_at"] = ended_at
            self.stored[key] = (start.run_id, stored)
        if done.lineage:
            self.edges[key] = (
                start.run_id,
                [
                    {
                        "pipeline": start.pipeline,
                        "run_id": start.run_id,
                        "asset": start.asset,
                        "partition_key": start.partition_key,
                        "upstream_asset": ua,
                        "upstream_partition_key": uk,
                    }
                    for ua, uk in done.lineage
                ],
            )

    def write_edges(self, c: Connection, run_ids: set[str] | None = None) -> None:
        """Replace the lineage of the runs' assets (of ``run_ids`` only, if given)."""
        kept = {k: e for k, (run_id, e) in self.edges.items() if run_ids is None or run_id in run_ids}
        if kept:
            keys = [{"b_pipeline": p, "b_asset": a, "b_key": k} for p, a, k in kept]
            replace_edges(c, keys, [edge for group in kept.values() for edge in group])


def options_json(options: Mapping[str, Any]) -> str:
    """A run's options as stored (sorted JSON); the common ones encoded once, not per run
    (every job's run has the same few: ``force``, ``with_deps``, ``timeout``)."""
    try:  # keyed by type too: 1, 1.0 and True are equal keys but not the same JSON
        return _options_json(tuple([(name, type(value), value) for name, value in options.items()]))
    except TypeError:  # an unhashable value: encoded as it is
        return json.dumps(dict(options), default=str, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _options_json(items: tuple[tuple[str, type, Any], ...]) -> str:
    return json.dumps({name: value for name, _, value in items}, default=str, sort_keys=True)


def write_runs(c: Connection, runs: Sequence[WholeRun], holds: Callable[[Any], bool]) -> None:
    """Insert every row of ``runs`` inside the caller's transaction.

    The run ids are new (a ``WholeRun`` was never started in the store), so these are
    plain inserts; a batch that fails rolls back whole and its runs count as not run.
    """
    if not runs:
        return
    postgresql = c.dialect.name == "postgresql"
    rows = BatchRows.of(runs, holds, datetime.isoformat if postgresql else None)
    if postgresql:
        recordsets.write(c, rows)
    else:
        _write_sqlite(c, rows)
    rows.write_edges(c)


def _write_sqlite(c: Connection, rows: BatchRows) -> None:
    """SQLite: each table's rows in one ``executemany`` of the driver.

    The statements are our Core inserts compiled once; the rows go to the driver as
    tuples, with timestamps in SQLAlchemy's own SQLite format. For a batch, SQLAlchemy's
    per-row parameter processing cost more than SQLite's work.
    """
    times: dict[datetime, str] = {}

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            text = times.get(value)
            if text is None:
                text = times[value] = f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
            return text
        return value

    for table, batch in (
        ("runs", rows.runs),
        ("records", rows.records),
        ("audit", rows.audits),
        ("values", [row for _, row in rows.stored.values()]),
    ):
        if batch:
            sql, order = _sqlite_insert(table)
            c.exec_driver_sql(sql, [tuple(plain(row[name]) for name in order) for row in batch])


@functools.cache
def _sqlite_insert(table: str) -> tuple[str, tuple[str, ...]]:
    """The SQL of one of our inserts for SQLite, and the order of its parameters."""
    statement, columns = {
        "runs": (statements.INSERT_RUN, statements.RUN_COLUMNS),
        "records": (statements.INSERT_MATERIALIZATION, statements.RECORD_COLUMNS),
        "audit": (statements.INSERT_AUDIT, statements.AUDIT_COLUMNS),
        "values": (upsert_statement("sqlite"), VALUE_COLUMNS),
    }[table]
    compiled = statement.compile(dialect=sqlite.dialect(paramstyle="qmark"), column_keys=list(columns))
    return str(compiled), tuple(compiled.positiontup or ())
