"""The job table's statements, built once per dialect: building a SQLAlchemy construct
costs more than executing its cached compiled form. ``b_``-prefixed parameters are bound
per call; every acknowledgement is fenced on (id, state 'executing', attempt, owner)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from flowstone._store.sql.schema import CLAIMABLE, jobs, leases, materializations

J = jobs


NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('flowstone_jobs', 'id')) "
    "FROM generate_series(1, :b_count) ORDER BY 1"
)
REFUSED = (
    "the job is no longer this node's (cancelled, or rescued after a missed heartbeat); "
    "its completion was not recorded"
)
ACK_STATES = {
    "complete": "completed",
    "retry": "retryable",
    "discard": "discarded",
    "snooze": "scheduled",
    "release": "available",  # given back unrun: its attempt is not used, its place kept
    "wait": "waiting",  # its run waits durably (flowstone._waits): ended when the run ends
}
SQLITE_NOW = "%Y-%m-%d %H:%M:%f000"
#: The columns of a bulk-inserted job's row (``JobTable.insert_many``); the others are null.
BULK_COLUMNS = (
    "id",
    "queue",
    "pipeline_ref",
    "pipeline",
    "asset",
    "partition_key",
    "options",
    "priority",
    "attempt",
    "max_attempts",
    "snoozed",
    "errors",
    "state",
)


@functools.cache
def insert_many_statement() -> Any:
    """PostgreSQL: insert the rows of the JSON parameter ``b_rows`` (``BULK_COLUMNS``, ids
    taken beforehand), due now. One statement for the batch: as an ``executemany`` the
    driver adapted 13 values per row and the server ran the insert once per row, most of
    a bulk enqueue's time (issue 22)."""
    typed = [column(name, J.c[name].type) for name in BULK_COLUMNS]
    rows = (
        func.json_to_recordset(bindparam("b_rows", type_=postgresql.JSON))
        .table_valued(*typed)
        .render_derived(name="new", with_types=True)
    )
    now = func.now()
    selected = select(*[rows.c[name] for name in BULK_COLUMNS], now, now)
    return insert(J).from_select([*BULK_COLUMNS, "inserted_at", "scheduled_at"], selected)


def db_now(dialect: str, shifted: bool = False) -> ColumnElement[Any]:
    """The database clock, optionally shifted by the ``b_shift`` parameter (see ``shift``)."""
    if dialect == "postgresql":
        now = func.now()
        return now + func.make_interval(0, 0, 0, 0, 0, 0, bindparam("b_shift")) if shifted else now
    return func.strftime(SQLITE_NOW, "now", bindparam("b_shift") if shifted else "+0 seconds")


def shift(dialect: str, seconds: float) -> float | str:
    return float(seconds) if dialect == "postgresql" else f"{float(seconds):+.6f} seconds"


@functools.lru_cache(maxsize=4)
def claim_statement(dialect: str) -> Any:
    now = db_now(dialect)
    due = (
        select(J.c.id)
        .where(
            J.c.queue == bindparam("b_queue"),
            CLAIMABLE,  # literally the partial index's predicate, so the planner uses it
            J.c.scheduled_at <= now,
            J.c.attempt < J.c.max_attempts,
            # A queue paused cluster-wide (flowstone jobs pause) is never claimed.
            ~exists().where(leases.c.name == bindparam("b_pause")),
        )
        .order_by(J.c.priority, J.c.scheduled_at, J.c.id)
        .limit(bindparam("b_limit"))
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    return (
        update(J)
        .where(J.c.id.in_(select(due.c.id)))
        .values(
            state="executing", attempt=J.c.attempt + 1, attempted_at=now, attempted_by=bindparam("b_node")
        )
        .returning(
            J.c.id,
            J.c.queue,
            J.c.pipeline_ref,
            J.c.pipeline,
            J.c.asset,
            J.c.partition_key,
            J.c.options,
            J.c.attempt,
            J.c.max_attempts,
            J.c.errors,
            *([target_done()] if dialect == "postgresql" else []),
        )
    )


def target_done() -> ColumnElement[Any]:
    m = materializations
    latest = (
        select(m.c.status)
        .where(m.c.pipeline == J.c.pipeline, m.c.asset == J.c.asset, m.c.partition_key == J.c.partition_key)
        .order_by(m.c.id.desc())
        .limit(1)
        .correlate(J)
        .scalar_subquery()
    )
    return func.coalesce(latest == "completed", False).label("target_done")


@functools.lru_cache(maxsize=256)
def complete_many_statement(dialect: str, clear_unique: bool, run_ids: int) -> Any:
    """Complete jobs fenced on (id, attempt) and owner; with ``run_ids``, set the run id
    of each of that many jobs (``b_job<n>`` → ``b_run<n>``) in the same statement."""
    values: dict[str, Any] = {"state": "completed", "completed_at": db_now(dialect)}
    if clear_unique:
        values["unique_key"] = None
    if run_ids:
        whens: list[tuple[Any, Any]] = [
            (J.c.id == bindparam(f"b_job{n}"), bindparam(f"b_run{n}")) for n in range(run_ids)
        ]
        values["run_id"] = case(*whens, else_=J.c.run_id)
    return (
        update(J)
        .where(
            tuple_(J.c.id, J.c.attempt).in_(bindparam("b_pairs", expanding=True)),
            J.c.state == "executing",
            J.c.attempted_by == bindparam("b_node"),
        )
        .values(**values)
        .returning(J.c.id)
    )


@functools.lru_cache(maxsize=32)
def ack_statement(dialect: str, kind: str, clear_unique: bool) -> Any:
    now = db_now(dialect)
    by_kind: dict[str, dict[str, Any]] = {
        "complete": {"completed_at": now, "run_id": bindparam("b_run_id")},
        "retry": {"errors": bindparam("b_errors"), "scheduled_at": db_now(dialect, shifted=True)},
        "discard": {"discarded_at": now, "errors": bindparam("b_errors")},
        "snooze": {
            "scheduled_at": db_now(dialect, shifted=True),
            "attempt": J.c.attempt - 1,
            "snoozed": J.c.snoozed + 1,
        },
        "release": {"attempt": J.c.attempt - 1},
        "wait": {"run_id": bindparam("b_run_id")},
    }
    values = by_kind[kind]
    if clear_unique:
        values["unique_key"] = None
    fence = and_(
        J.c.id == bindparam("b_id"),
        J.c.state == "executing",
        J.c.attempt == bindparam("b_attempt"),
        J.c.attempted_by == bindparam("b_node"),
    )
    return update(J).where(fence).values(state=ACK_STATES[kind], **values)
