"""SQLite: a run's start and a materialization's completion, on the ``sqlite3`` connection itself.

A run's start inserts its row, its records and its ``run.started`` audit row (only the
records for a nested run, whose outer run has the row), as ``RunWrites.start_run`` did
through SQLAlchemy: a single-asset run on SQLite spent more in SQLAlchemy's execution
of those three inserts than in SQLite.

The statements and their conditions are those of the SQLAlchemy path
(``RunWrites._complete_plainly``, kept for a completion with a fence, whose job
acknowledgement runs SQLAlchemy statements): the record is marked completed only if it
was running, and only then are its value stored, its run closed with the run's audit
row, its lineage replaced and its dependants marked running, in one transaction
(``DriverTransaction``). Each timestamp is turned into SQLite's text once, not once per
statement, and each statement's parameters are taken by ``driver.run`` in C.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from flowstone._store.records import Completion
from flowstone._store.sql import driver
from flowstone._store.sql.history import run_end_audit
from flowstone._tags import decode_tags

__all__ = ["complete", "start"]


def start(
    d: sqlite3.Connection,
    run: Mapping[str, Any] | None,
    records: Sequence[Mapping[str, Any]],
    audit: Mapping[str, Any],
) -> None:
    """Insert a run's row (unless None), its records and, with its row, its audit row;
    timestamps already text (``driver.text_of``)."""
    if run is not None:
        driver.run(d, "insert_run", run)
    driver.run_many(d, "insert_record", records)
    if run is not None:
        driver.run(d, "audit", audit)


def complete(d: sqlite3.Connection, done: Completion, stored: Mapping[str, Any] | None) -> bool:
    """Write ``done`` (and ``stored``, its values row, if the store keeps its value); False,
    with nothing written, if its record was not running."""
    at = driver.text_of(done.at)
    key = {
        "b_pipeline": done.pipeline,
        "b_asset": done.asset,
        "b_key": done.partition_key,
        "b_run": done.run_id,
    }
    params = {
        **key,
        "b_attempt": done.attempts,
        "b_at": at,
        "b_duration": done.duration_ms,
        "b_code": done.code_version,
    }
    if not driver.run(d, "complete", params).rowcount:
        return False  # already finished: a late or repeated delivery changes nothing
    if stored is not None:
        driver.run(d, "value", {**stored, "updated_at": at})
    if done.finishes_run:
        _close_run(d, done, at)
    if done.lineage:
        driver.run(d, "delete_lineage", key)
        edge = {
            "pipeline": done.pipeline,
            "run_id": done.run_id,
            "asset": done.asset,
            "partition_key": done.partition_key,
        }
        driver.run_many(
            d,
            "insert_lineage",
            [{**edge, "upstream_asset": ua, "upstream_partition_key": uk} for ua, uk in done.lineage],
        )
    if done.then_running:
        driver.run_many(d, "premark", [{**params, "b_asset": asset} for asset in done.then_running])
    return True


def _close_run(d: sqlite3.Connection, done: Completion, at: str) -> None:
    """Close the run as completed and, if it was still open, write its ``run.finished`` row."""
    close = {"b_run": done.run_id, "b_status": "completed", "b_at": at, "b_error": None}
    closed = driver.run(d, "close_run", close).fetchone()  # its tags: every end's audit names them
    if closed is not None:
        resource = f"{done.pipeline}/{done.asset}/{done.partition_key}"
        audit = run_end_audit(
            done.at, "completed", done.actor, resource, done.run_id, None, decode_tags(closed[0])
        )
        driver.run(d, "audit", {**audit, "at": at})
