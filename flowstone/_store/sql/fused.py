"""PostgreSQL: a run's start, and a completion, each written in one statement.

A statement costs a round trip and, on our side, more Python than the database spends on
it (SQLAlchemy binds the parameters, the driver encodes them and reads the result). With
data-modifying CTEs PostgreSQL runs several writes as one statement, atomically, so a
single-asset run's start is one statement instead of three, and a completion one instead
of four. SQLite has no data-modifying CTEs; it keeps the plain statements, whose round
trips are function calls there.

The conditions stay those of the plain statements, inside the statement: the value is
stored, the run closed and its audit row written only if the materialization was still
running. So a completion statement needs no transaction around it, and runs in
autocommit mode when nothing else goes with it (``Engines.single``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql

from flowstone._store.sql.schema import audit_log, materializations, runs, values
from flowstone._store.sql.values import COLUMNS as VALUE_COLUMNS
from flowstone._store.sql.values import replacing

__all__ = ["complete", "start_single"]

M = materializations
_RUN_COLUMNS = ("run_id", "pipeline", "asset", "partition_key", "status", "options", "started_at", "tags")
_RECORD_COLUMNS = ("pipeline", "asset", "partition_key", "run_id", "status", "attempts", "started_at")
_AUDIT_COLUMNS = ("at", "event_type", "actor", "resource", "action", "details")


def start_single(
    c: Connection, run: Mapping[str, Any], record: Mapping[str, Any], audit: Mapping[str, Any]
) -> None:
    """Insert a run's row, its one materialization record and its audit row."""
    params = {f"r_{k}": v for k, v in run.items()}
    params.update({f"m_{k}": v for k, v in record.items()})
    params.update({f"a_{k}": v for k, v in audit.items()})
    c.execute(_start_statement(), params)


def complete(
    c: Connection,
    params: Mapping[str, Any],
    value: Mapping[str, Any] | None,
    audit: Mapping[str, Any] | None,
) -> bool:
    """Mark the record completed, store ``value`` (a values row) and, with ``audit`` (the
    run's ``run.finished`` row), close the run; False if the record was not running."""
    bound = dict(params)
    if value is not None:
        bound.update({f"v_{k}": v for k, v in value.items()})
    if audit is not None:
        bound.update({f"a_{k}": v for k, v in audit.items()})
    return bool(c.execute(_complete_statement(value is not None, audit is not None), bound).scalar())


def _bound(table: Any, prefix: str, columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns}


@functools.cache
def _start_statement() -> Any:
    run = insert(runs).values(_bound(runs, "r_", _RUN_COLUMNS)).cte("started_run")
    record = insert(M).values(_bound(M, "m_", _RECORD_COLUMNS)).cte("started_record")
    return insert(audit_log).values(_bound(audit_log, "a_", _AUDIT_COLUMNS)).add_cte(run, record)


@functools.cache
def _complete_statement(with_value: bool, closes_run: bool) -> Any:
    record = (
        update(M)
        .where(
            M.c.pipeline == bindparam("b_pipeline"),
            M.c.asset == bindparam("b_asset"),
            M.c.partition_key == bindparam("b_key"),
            M.c.run_id == bindparam("b_run"),
            M.c.status == "running",
        )
        .values(
            status="completed",
            attempts=bindparam("b_attempt"),
            finished_at=bindparam("b_at"),
            duration_ms=bindparam("b_duration"),
            code_version=bindparam("b_code"),
        )
        .returning(M.c.id)
        .cte("completed_record")
    )
    extra = []
    if with_value:
        # Stored only if the record was completed: the statement is whole on its own.
        row = select(*_bound(values, "v_", VALUE_COLUMNS).values()).select_from(record)
        upsert = replacing(postgresql.insert(values).from_select(list(VALUE_COLUMNS), row))
        extra.append(upsert.cte("stored_value"))
    if closes_run:
        closed = (
            update(runs)
            .where(
                runs.c.run_id == bindparam("b_run"),
                runs.c.status == "running",
                select(record.c.id).exists(),
            )
            .values(status="completed", finished_at=bindparam("b_at"), error=None)
            .returning(runs.c.run_id)
            .cte("closed_run")
        )
        audit_values = select(*_bound(audit_log, "a_", _AUDIT_COLUMNS).values()).select_from(closed)
        extra.append(insert(audit_log).from_select(list(_AUDIT_COLUMNS), audit_values).cte("audited"))
    count = select(func.count(literal_column("1"))).select_from(record).scalar_subquery()
    return select(count).add_cte(*extra)
