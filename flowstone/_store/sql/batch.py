"""Whole runs written in one transaction: the rows of a backfill's batch.

A row per table per run, each table written by one ``executemany``: SQLite runs it in
the driver's loop, PostgreSQL as multi-row ``INSERT``s (``statements.*_MANY``). One commit then covers the
whole batch, which is where the time of a small materialization goes otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from flowstone._store.records import WholeRun
from flowstone._store.sql import statements
from flowstone._store.sql.history import audit_row, replace_edges
from flowstone._store.sql.values import SQLValues
from flowstone.io import AssetKey

__all__ = ["write_runs"]


def write_runs(c: Connection, runs: Sequence[WholeRun], holds: Callable[[Any], bool]) -> None:
    """Insert every row of ``runs`` inside the caller's transaction.

    The run ids are new (a ``WholeRun`` was never started in the store), so these are
    plain inserts; a batch that fails rolls back whole and its runs count as not run.
    """
    run_rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    # Keyed by pipeline, asset and partition: a partition listed twice keeps its last value and
    # lineage (one statement may not upsert the same row twice on PostgreSQL).
    stored: dict[tuple[str, str, str], dict[str, Any]] = {}
    edges: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for run in runs:
        start, done, failure = run.start, run.completion, run.failure
        end = done or failure
        if end is None:
            raise ValueError(f"run {start.run_id} has neither a completion nor a failure")
        error = None if failure is None else failure.error
        status = "failed" if failure is not None else "completed"
        resource = f"{start.pipeline}/{start.asset}/{start.partition_key}"
        run_rows.append(
            {
                "run_id": start.run_id,
                "pipeline": start.pipeline,
                "asset": start.asset,
                "partition_key": start.partition_key,
                "status": status,
                "options": json.dumps(dict(start.options), default=str, sort_keys=True),
                "started_at": start.at,
                "finished_at": end.at,
                "error": error,
            }
        )
        records.append(
            {
                "pipeline": start.pipeline,
                "asset": start.asset,
                "partition_key": start.partition_key,
                "run_id": start.run_id,
                "status": status,
                "attempts": end.attempts,
                "started_at": start.at,
                "finished_at": end.at,
                "duration_ms": None if done is None else done.duration_ms,
                "error": error,
            }
        )
        started = {"run_id": start.run_id, "plan": list(start.plan), **start.options}
        audits.append(audit_row(start.at, "run.started", start.actor, resource, "start", started))
        audits.append(
            audit_row(
                end.at,
                "run.failed" if failure else "run.finished",
                end.actor,
                resource,
                "fail" if failure else "finish",
                {"run_id": start.run_id, "error": error},
            )
        )
        if done is None:
            continue
        pair = (start.pipeline, start.asset, start.partition_key)
        if run.payload is not None and isinstance(run.io, SQLValues) and holds(run.io):
            key = AssetKey(start.pipeline, start.asset, start.partition_key)
            stored[pair] = run.io.row(key, run.payload, done.at)
        if done.lineage:
            edges[pair] = [
                {
                    "pipeline": start.pipeline,
                    "run_id": start.run_id,
                    "asset": start.asset,
                    "partition_key": start.partition_key,
                    "upstream_asset": ua,
                    "upstream_partition_key": uk,
                }
                for ua, uk in done.lineage
            ]
    if not run_rows:
        return
    many = c.dialect.name == "postgresql"
    c.execute(statements.INSERT_RUNS_MANY if many else statements.INSERT_RUN, run_rows)
    c.execute(statements.INSERT_MATERIALIZATIONS_MANY if many else statements.INSERT_MATERIALIZATION, records)
    if stored:
        SQLValues.write_rows(c, list(stored.values()))
    if edges:
        keys = [{"b_pipeline": p, "b_asset": a, "b_key": k} for p, a, k in edges]
        replace_edges(c, keys, [edge for group in edges.values() for edge in group])
    c.execute(statements.INSERT_AUDIT_MANY if many else statements.INSERT_AUDIT, audits)
