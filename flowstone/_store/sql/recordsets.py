"""PostgreSQL: a batch of whole runs, and the completions of their jobs, in one statement.

A batch (``batch.write_runs``, ``JobTable.complete_runs``) writes a row per run into four
tables, and for jobs completes them too. As separate statements that is a round trip
and, on our side, a SQLAlchemy execution per table; as multi-row ``INSERT``s the driver
still adapts every value one by one. Here each table's rows travel as one JSON
parameter (``json.dumps`` is C code) that ``json_to_recordset`` turns back into typed
rows, and data-modifying CTEs write all tables at once. The statement is the same for
any batch size, so PostgreSQL prepares it once.

With jobs, the runs are recorded only for the jobs whose fenced completion applied
(``acked``): the statement is whole on its own and runs in autocommit mode. The caller
records the runs of refused jobs (cancelled, rescued) as failed afterwards.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Integer,
    String,
    bindparam,
    case,
    column,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql

from flowstone._store.sql import precompiled
from flowstone._store.sql.schema import audit_log, jobs, materializations, runs, values
from flowstone._store.sql.statements import AUDIT_COLUMNS, RECORD_COLUMNS, RUN_COLUMNS
from flowstone._store.sql.values import COLUMNS as VALUE_COLUMNS
from flowstone._store.sql.values import replacing

__all__ = ["JobAck", "complete_jobs", "write"]


class BatchRows(Protocol):
    """What this module writes of a batch: ``batch.BatchRows``, which imports this module."""

    @property
    def runs(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def records(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def audits(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def audit_run_ids(self) -> Sequence[str]: ...
    @property
    def stored(self) -> Mapping[Any, tuple[str, Mapping[str, Any]]]: ...


#: A job to complete: (id, attempt, run id or None to keep it, whether its unique key is cleared).
JobAck = tuple[int, int, str | None, bool]


def write(c: Connection, rows: BatchRows, acks: Sequence[JobAck] = (), node_id: str = "") -> set[int]:
    """Write the rows of a batch; with ``acks``, complete those jobs (fenced on attempt
    and ``node_id``) and write only the rows of runs whose job completed. The ids of the
    completed jobs."""
    return write_and_claim(c, rows, acks, node_id)[0]


def write_and_claim(
    c: Connection,
    rows: BatchRows,
    acks: Sequence[JobAck] = (),
    node_id: str = "",
    claim: tuple[Any, Mapping[str, Any]] | None = None,
) -> tuple[set[int], list[Any]]:
    """``write``, and with ``claim`` (the job layer's claim statement, an ``UPDATE …
    RETURNING``, and its ``b_`` parameters; with ``acks``) claim jobs in the same
    statement: one round trip and one commit where a queue's group commit and its refill
    took two. The completed ids, and the claimed rows."""
    params: dict[str, Any] = {
        "b_runs": _rows(rows.runs, RUN_COLUMNS),
        "b_records": _rows(rows.records, RECORD_COLUMNS),
        "b_audits": [
            {"run_id": run_id, **_rows([row], AUDIT_COLUMNS)[0]}
            for run_id, row in zip(rows.audit_run_ids, rows.audits, strict=True)
        ],
    }
    if rows.stored:
        params["b_values"] = [
            {"run_id": run_id, **_rows([row], VALUE_COLUMNS)[0]} for run_id, row in rows.stored.values()
        ]
    if acks:
        params["b_jobs"] = _jobs(acks)
    params = {name: json.dumps(value, default=_plain) for name, value in params.items()}
    if acks:
        params["b_node"] = node_id
    if claim is not None and acks:
        statement = _claiming_statement(bool(rows.stored), claim[0])
        found = precompiled.execute(c, statement, {**params, **claim[1]})
        done = {int(i) for i in found[0].acked_ids or ()}  # one row, even when nothing is claimed
        return done, [row for row in found if row.id is not None]
    result = precompiled.execute(c, _statement(bool(rows.stored), bool(acks)), params)
    return ({int(row[0]) for row in result} if acks else set()), []


def complete_jobs(c: Connection, acks: Sequence[JobAck], node_id: str) -> set[int]:
    """Complete jobs (fenced on attempt and ``node_id``) in one statement; the ids completed.

    The jobs travel as one JSON parameter: no ``IN`` list to expand and render per call.
    """
    params = {"b_jobs": json.dumps(_jobs(acks)), "b_node": node_id}
    return {int(row[0]) for row in precompiled.execute(c, _completion_statement(), params)}


def _jobs(acks: Sequence[JobAck]) -> list[dict[str, Any]]:
    return [{"id": i, "attempt": a, "run_id": r, "clear_unique": clear} for i, a, r, clear in acks]


@functools.cache
def _completion_statement() -> Any:
    acked = _acked()
    return select(acked.c.id)


def _rows(rows: Sequence[Mapping[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows' ``columns``, for ``json.dumps(..., default=_plain)``."""
    return [{name: row[name] for name in columns} for row in rows]


def _plain(value: Any) -> Any:
    """What JSON has no type for: timestamps in ISO format, bytes in base64. Called by the
    encoder for those values alone: converting every value beforehand cost a Python call
    per value, a tenth of a job's CPU in a group commit."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _recordset(name: str, table: Any, columns: tuple[str, ...], binary: frozenset[str]) -> Any:
    """``json_to_recordset(:name) AS name(col type, …)``, typed as ``table``'s columns;
    ``binary`` columns arrive as base64 text, and ``run_id`` may be a tag, not a column."""
    typed = []
    for n in columns:
        if n in binary:
            type_: Any = String()
        elif n in table.c:
            type_ = table.c[n].type
        else:
            type_ = String(64)
        typed.append(column(n, type_))
    recordset = func.json_to_recordset(bindparam(name, type_=postgresql.JSON)).table_valued(*typed)
    return recordset.render_derived(name=name.removeprefix("b_"), with_types=True)


def _rows_of(
    name: str, table: Any, columns: tuple[str, ...], acked: Any, binary: frozenset[str] = frozenset()
) -> Any:
    """``SELECT columns FROM`` the recordset ``name``: the rows of runs whose job was
    ``acked``, if given; ``binary`` columns decoded from base64."""
    source = _recordset(name, table, columns if "run_id" in columns else ("run_id", *columns), binary)
    selected = [func.decode(source.c[n], "base64") if n in binary else source.c[n] for n in columns]
    rows = select(*selected)
    if acked is not None:
        rows = rows.where(source.c.run_id.in_(select(acked.c.run_id)))
    return rows


def _acked() -> Any:
    """Complete the jobs of ``b_jobs`` still executing on ``b_node`` at that attempt."""
    wanted = (
        func.json_to_recordset(bindparam("b_jobs", type_=postgresql.JSON))
        .table_valued(
            column("id", BigInteger),
            column("attempt", Integer),
            column("run_id", String(64)),
            column("clear_unique", Boolean),
        )
        .render_derived(name="wanted", with_types=True)
    )
    j = jobs
    return (
        update(j)
        .where(
            j.c.id == wanted.c.id,
            j.c.attempt == wanted.c.attempt,
            j.c.state == "executing",
            j.c.attempted_by == bindparam("b_node"),
        )
        .values(
            state="completed",
            completed_at=func.now(),
            run_id=func.coalesce(wanted.c.run_id, j.c.run_id),
            unique_key=case((wanted.c.clear_unique, None), else_=j.c.unique_key),
        )
        .returning(j.c.id, j.c.run_id)
        .cte("acked")
    )


@functools.cache
def _statement(with_values: bool, with_jobs: bool) -> Any:
    acked = _acked() if with_jobs else None
    parts = _writes(with_values, acked)
    if acked is None:
        return select(literal_column("1")).add_cte(*parts)
    return select(acked.c.id).add_cte(*parts)


@functools.lru_cache(maxsize=8)
def _claiming_statement(with_values: bool, claim: Any) -> Any:
    """``_statement`` with jobs, and the ``claim`` statement beside it: one row per
    claimed job, or one row of nulls; each with the ids completed (``acked_ids``). The
    claim cannot take a job being completed: those are ``executing``, it takes due ones."""
    acked = _acked()
    claimed = claim.cte("claimed")
    acked_ids = select(func.array_agg(acked.c.id)).scalar_subquery().label("acked_ids")
    one = select(literal_column("1").label("one")).subquery("one")
    return (
        select(acked_ids, *claimed.c)
        .select_from(one.outerjoin(claimed, true()))
        .add_cte(*_writes(with_values, acked))
    )


def _writes(with_values: bool, acked: Any) -> list[Any]:
    """The data-modifying CTEs that write a batch's rows (of acked jobs' runs, if given)."""
    parts = [
        insert(runs)
        .from_select(list(RUN_COLUMNS), _rows_of("b_runs", runs, RUN_COLUMNS, acked))
        .cte("batch_runs"),
        insert(materializations)
        .from_select(list(RECORD_COLUMNS), _rows_of("b_records", materializations, RECORD_COLUMNS, acked))
        .cte("batch_records"),
        insert(audit_log)
        .from_select(list(AUDIT_COLUMNS), _rows_of("b_audits", audit_log, AUDIT_COLUMNS, acked))
        .cte("batch_audit"),
    ]
    if with_values:
        rows = _rows_of("b_values", values, VALUE_COLUMNS, acked, frozenset({"data"}))
        parts.append(
            replacing(postgresql.insert(values).from_select(list(VALUE_COLUMNS), rows)).cte("batch_values")
        )
    return parts
