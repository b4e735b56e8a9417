"""The SQL store's hot statements, built once with bound parameters.

Building a SQLAlchemy construct costs more than executing its cached compiled form, and
these run for every materialization. ``b_``-prefixed parameters are bound per call.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, desc, func, insert, or_, select, update

from flowstone._store.sql.schema import audit_log, lineage, materializations, runs

M = materializations

WHERE_KEY = and_(
    M.c.pipeline == bindparam("b_pipeline"),
    M.c.asset == bindparam("b_asset"),
    M.c.partition_key == bindparam("b_key"),
)
WHERE_RECORD = and_(WHERE_KEY, M.c.run_id == bindparam("b_run"))
RUN_COLUMNS = (
    "run_id",
    "pipeline",
    "asset",
    "partition_key",
    "status",
    "options",
    "started_at",
    "finished_at",
    "error",
    "tags",
)
RECORD_COLUMNS = (
    "pipeline",
    "asset",
    "partition_key",
    "run_id",
    "status",
    "attempts",
    "started_at",
    "finished_at",
    "duration_ms",
    "error",
)
AUDIT_COLUMNS = ("at", "event_type", "actor", "resource", "action", "details")
INSERT_RUN = insert(runs)
INSERT_MATERIALIZATION = insert(M)
INSERT_AUDIT = insert(audit_log)
MARK_RUNNING = (
    update(M)
    .where(WHERE_RECORD, M.c.status.in_(("pending", "running", "waiting")))
    .values(
        status="running",
        attempts=bindparam("b_attempt"),
        started_at=func.coalesce(M.c.started_at, bindparam("b_at")),
    )
)
PREMARK = (
    update(M)
    .where(WHERE_RECORD, M.c.status == "pending")
    .values(status="running", attempts=1, started_at=bindparam("b_at"))
)
COMPLETE = (
    update(M)
    .where(WHERE_RECORD, M.c.status == "running")
    .values(
        status="completed",
        attempts=bindparam("b_attempt"),
        finished_at=bindparam("b_at"),
        duration_ms=bindparam("b_duration"),
        code_version=bindparam("b_code"),
    )
)
FAIL = (
    update(M)
    .where(WHERE_RECORD, M.c.status.in_(("pending", "running", "waiting")))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempt"),
        finished_at=bindparam("b_at"),
        error=bindparam("b_error"),
    )
)
CLOSE_RUN = (
    update(runs)
    .where(runs.c.run_id == bindparam("b_run"), runs.c.status.in_(("running", "waiting")))
    .values(status=bindparam("b_status"), finished_at=bindparam("b_at"), error=bindparam("b_error"))
)
#: ``CLOSE_RUN`` answering the run's tags (every end's audit entry names them), for the
#: driver (``driver.py``): ``OR`` instead of an ``IN`` list, which SQLAlchemy expands per call.
CLOSE_RUN_TAGS = (
    update(runs)
    .where(runs.c.run_id == bindparam("b_run"), or_(runs.c.status == "running", runs.c.status == "waiting"))
    .values(status=bindparam("b_status"), finished_at=bindparam("b_at"), error=bindparam("b_error"))
    .returning(runs.c.tags)
)
SUSPEND = update(M).where(WHERE_RECORD, M.c.status == "running").values(status="waiting")
RUN_STATUS = (
    update(runs)
    .where(runs.c.run_id == bindparam("b_run"), runs.c.status.in_(("running", "waiting")))
    .values(status=bindparam("b_status"))
)
RUN_RECORDS = select(M.c.asset, M.c.status).where(M.c.run_id == bindparam("b_run"))
LATEST = select(M).where(WHERE_KEY).order_by(desc(M.c.id)).limit(1)
STATUSES = (
    select(M.c.partition_key, M.c.asset, M.c.status)
    .where(
        M.c.pipeline == bindparam("b_pipeline"),
        M.c.partition_key.in_(bindparam("b_keys", expanding=True)),
        M.c.asset.in_(bindparam("b_assets", expanding=True)),
    )
    .order_by(M.c.id)
)
CHUNK = 500  # bound parameters per IN list
# Every record of one asset, oldest first, read off the (pipeline, asset, ...) index:
# the caller keeps the last state per key. Twice as fast on SQLite as a max(id)-per-key
# join, whose grouping costs more than the rows it saves.
PARTITION_STATES = (
    select(M.c.partition_key, M.c.status)
    .where(M.c.pipeline == bindparam("b_pipeline"), M.c.asset == bindparam("b_asset"))
    .order_by(M.c.id)
)

DELETE_LINEAGE = delete(lineage).where(
    lineage.c.pipeline == bindparam("b_pipeline"),
    lineage.c.asset == bindparam("b_asset"),
    lineage.c.partition_key == bindparam("b_key"),
)
INSERT_LINEAGE = insert(lineage)

__all__ = [
    "DELETE_LINEAGE",
    "INSERT_LINEAGE",
    "AUDIT_COLUMNS",
    "RECORD_COLUMNS",
    "RUN_COLUMNS",
    "CHUNK",
    "CLOSE_RUN",
    "CLOSE_RUN_TAGS",
    "COMPLETE",
    "FAIL",
    "INSERT_AUDIT",
    "INSERT_MATERIALIZATION",
    "INSERT_RUN",
    "LATEST",
    "MARK_RUNNING",
    "PREMARK",
    "RUN_RECORDS",
    "RUN_STATUS",
    "STATUSES",
    "PARTITION_STATES",
    "SUSPEND",
    "WHERE_KEY",
    "WHERE_RECORD",
]
