"""``SQLStore``: records in SQLite or PostgreSQL through SQLAlchemy Core.

Every method is one transaction. Writes that count a state change are conditional
(``UPDATE … WHERE status = 'running'``), so a repeated or late delivery changes nothing.
A value stored with ``fs.io.SQL`` is written in the same transaction that marks its
materialization completed: both or neither.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, text, update

from flowstone._store.records import Completion, Failure, MaterializationRecord, RunStart, WholeRun
from flowstone._store.sql import batch, driver, fused, migrate, statements
from flowstone._store.sql.barrier import SQLBarrier
from flowstone._store.sql.engine import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_STATEMENT_TIMEOUT_S,
    Engines,
    Timeouts,
    create_engines,
    is_connection_error,
    mask,
    serialize,
    translate,
    unavailable,
)
from flowstone._store.sql.history import History, audit_row, aware, link
from flowstone._store.sql.schema import lineage, materializations
from flowstone._store.sql.skips import Skips
from flowstone._store.sql.values import SQLValues
from flowstone._store.sql.waiting import Waiting
from flowstone._tags import encode_tags, tagged
from flowstone.codec import DEFAULT_MAX_VALUE_BYTES
from flowstone.errors import StoreUnavailableError
from flowstone.io import AssetKey, IOManager
from supervisors._log import get_logger

__all__ = ["SQLStore"]

log = get_logger("flowstone")

M = materializations


class _NotRunningError(Exception):
    """Rolls a completion back when its record is no longer running."""


class SQLStore(Waiting, History, Skips):
    """The durable store. ``open`` connects and (with ``auto_migrate``) migrates."""

    run_batch = 64  # a commit costs more than the rows of a small materialization

    def __init__(
        self,
        url: str,
        *,
        auto_migrate: bool = True,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.auto_migrate = auto_migrate
        self.max_value_bytes = max_value_bytes
        self.timeouts = Timeouts(connect=connect_timeout, statement=statement_timeout)
        self._lock = threading.Lock()
        self._engines: Engines | None = None
        self.barrier = SQLBarrier(self)  # scatters (issue 15), on the same engines

    def __repr__(self) -> str:
        return f"SQLStore({mask(self.url)!r})"

    # --- lifecycle -------------------------------------------------------------------
    @property
    def engines(self) -> Engines:
        engines = self._engines
        if engines is None:
            raise StoreUnavailableError(f"the store at {mask(self.url)} is not open (is the node running?)")
        return engines

    def open(self) -> None:
        """Connect, then migrate the schema to the newest revision (``auto_migrate``) or
        check that it is there; on any failure nothing is left open.

        Raises:
            StoreUnavailableError: the database cannot be reached, or is not a database.
            SchemaVersionError: its schema is newer or unknown (or, without
                ``auto_migrate``, not the newest).
        """
        self.connect()
        engines = self.engines
        try:
            with translate(self.url, "open"):
                # Read first: a current schema, the usual case, is checked without the
                # migration lock (SQLite's write lock, PostgreSQL's advisory lock).
                if migrate.current_revision(engines.read) != migrate.head_revision():
                    if self.auto_migrate:
                        migrate.upgrade(engines.write, wait=self.timeouts.statement)
                    else:
                        migrate.check(engines.read)
        except BaseException:
            self.close()
            raise
        log.info("store.opened", url=mask(self.url))

    def connect(self) -> None:
        """Create the engines and reach the database, leaving its schema alone (``flowstone db``)."""
        with self._lock:
            if self._engines is None:
                self._engines = create_engines(self.url, self.timeouts)
        try:
            self._ping("open")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            engines, self._engines = self._engines, None
        if engines is not None:
            engines.dispose()

    def ping(self) -> None:
        self._ping("reach")

    def _ping(self, doing: str) -> None:
        with translate(self.url, doing), self.engines.read.connect() as connection:
            connection.execute(text("SELECT 1"))

    def values(self, format: str = "msgpack", max_value_bytes: int | None = None) -> SQLValues:
        """An IO manager keeping values in this store's database."""
        return SQLValues(self, format, max_value_bytes or self.max_value_bytes)

    def _write(self, doing: str) -> Any:
        return _Transaction(self, self.engines.write, doing)

    def _read(self, doing: str) -> Any:
        return _Transaction(self, self.engines.read, doing)

    def _single(self, doing: str) -> Any:
        """For one self-contained write statement (see ``Engines.single``)."""
        return _Transaction(self, self.engines.single, doing)

    # --- runs and materializations -------------------------------------------------
    def start_run(self, run: RunStart) -> None:
        running = set(run.running)
        run_row = {
            "run_id": run.run_id,
            "pipeline": run.pipeline,
            "asset": run.asset,
            "partition_key": run.partition_key,
            "status": "running",
            "options": json.dumps(dict(run.options), default=str, sort_keys=True),
            "started_at": run.at,
            "tags": encode_tags(run.tags),
        }
        records = [
            {
                "pipeline": run.pipeline,
                "asset": a,
                "partition_key": run.partition_key,
                "run_id": run.run_id,
                "status": "running" if a in running else "pending",
                "attempts": 1 if a in running else 0,
                "started_at": run.at if a in running else None,
            }
            for a in run.plan
        ]
        audit = audit_row(
            run.at,
            "run.started",
            run.actor,
            f"{run.pipeline}/{run.asset}/{run.partition_key}",
            "start",
            {"run_id": run.run_id, "plan": list(run.plan), **run.options, **tagged(run.tags)},
        )
        if self.engines.dialect == "postgresql" and len(records) == 1:
            with self._single("record a run in") as c:
                fused.start_single(c, run_row, records[0], audit)
            return
        with self._write("record a run in") as c:
            c.execute(statements.INSERT_RUN, run_row)
            c.execute(statements.INSERT_MATERIALIZATION, records)
            c.execute(statements.INSERT_AUDIT, audit)

    @staticmethod
    def _key(pipeline: str, asset: str, partition_key: str, run_id: str) -> dict[str, Any]:
        return {"b_pipeline": pipeline, "b_asset": asset, "b_key": partition_key, "b_run": run_id}

    def mark_running(
        self, pipeline: str, asset: str, partition_key: str, run_id: str, attempt: int, at: datetime
    ) -> None:
        with self._write("record an attempt in") as c:
            params = {**self._key(pipeline, asset, partition_key, run_id), "b_attempt": attempt, "b_at": at}
            if not c.execute(statements.MARK_RUNNING, params).rowcount:
                c.execute(
                    statements.INSERT_MATERIALIZATION,
                    {
                        "pipeline": pipeline,
                        "asset": asset,
                        "partition_key": partition_key,
                        "run_id": run_id,
                        "status": "running",
                        "attempts": attempt,
                        "started_at": at,
                    },
                )

    def holds(self, io: IOManager) -> bool:
        return isinstance(io, SQLValues) and io.owner is self

    def record_runs(self, runs: Sequence[WholeRun]) -> None:
        if runs:
            with self._write("record runs in") as c:
                batch.write_runs(c, runs, self.holds)

    def complete(
        self, done: Completion, io: IOManager, value: Any, encoded: bytes | str | None = None
    ) -> bool:
        key = AssetKey(done.pipeline, done.asset, done.partition_key)
        joined = io if isinstance(io, SQLValues) and self.holds(io) else None
        payload = None if joined is None else encoded if encoded is not None else joined.encode(value)
        if joined is None:
            io.store(key, value)
        params = {
            **self._key(done.pipeline, done.asset, done.partition_key, done.run_id),
            "b_attempt": done.attempts,
            "b_at": done.at,
            "b_duration": done.duration_ms,
            "b_code": done.code_version,
        }
        resource = f"{done.pipeline}/{done.asset}/{done.partition_key}"
        alone = not (done.lineage or done.then_running or done.fence)
        fuse = self.engines.dialect == "postgresql"  # see fused.py
        try:
            if fuse:
                stored = None if joined is None or payload is None else joined.row(key, payload, done.at)
                audit = None
                if done.finishes_run:
                    audit = _run_end_audit(done.at, "completed", done.actor, resource, done.run_id, None)
                if alone:  # one self-contained statement: no transaction around it
                    with self._single("record a materialization in") as c:
                        return fused.complete(c, params, stored, audit)
            with self._write("record a materialization in") as c:
                if fuse:
                    if not fused.complete(c, params, stored, audit):
                        raise _NotRunningError
                else:
                    self._complete_plainly(c, done, params, resource, joined, key, payload)
                if done.lineage:
                    link(c, done.pipeline, done.run_id, done.asset, done.partition_key, done.lineage)
                if done.then_running:
                    driver.premark(c, [{**params, "b_asset": asset} for asset in done.then_running])
                if done.fence is not None and not done.fence(c, done.run_id):
                    raise _NotRunningError
        except _NotRunningError:
            return False
        return True

    def _complete_plainly(
        self,
        c: Connection,
        done: Completion,
        params: dict[str, Any],
        resource: str,
        joined: SQLValues | None,
        key: AssetKey,
        payload: bytes | str | None,
    ) -> None:
        """The statements that ``fused.complete`` runs as one, one by one, on SQLite's
        driver (``driver.py``: through SQLAlchemy they cost most of an asset's time)."""
        if not driver.execute(c, "complete", params):
            raise _NotRunningError
        if joined is not None and payload is not None:
            driver.executemany(c, "value", [joined.row(key, payload, done.at)])
        if done.finishes_run:
            self._close_run(c, done.run_id, "completed", done.at, None, done.actor, resource)

    def fail(self, failure: Failure) -> bool:
        params = {
            **self._key(failure.pipeline, failure.asset, failure.partition_key, failure.run_id),
            "b_attempt": failure.attempts,
            "b_at": failure.at,
            "b_error": failure.error,
            "b_status": failure.status,
        }
        with self._write("record a failure in") as c:
            if not c.execute(statements.FAIL, params).rowcount:
                return False  # already finished: a late or repeated delivery changes nothing
            self._close_run(
                c,
                failure.run_id,
                failure.status,
                failure.at,
                failure.error,
                failure.actor,
                f"{failure.pipeline}/{failure.asset}/{failure.partition_key}",
            )
            return True

    def finish_run(self, run_id: str, *, status: str, at: datetime, error: str | None, actor: str) -> None:
        with self._write("record a run in") as c:
            c.execute(
                update(M)
                .where(M.c.run_id == run_id, M.c.status.in_(("pending", "running")))
                .values(status="failed", finished_at=at, error=error)
            )
            self._close_run(c, run_id, status, at, error, actor, run_id)

    def _close_run(
        self,
        c: Connection,
        run_id: str,
        status: str,
        at: datetime,
        error: str | None,
        actor: str,
        resource: str,
    ) -> None:
        params = {"b_run": run_id, "b_status": status, "b_at": at, "b_error": error}
        if c.execute(statements.CLOSE_RUN, params).rowcount:
            c.execute(statements.INSERT_AUDIT, _run_end_audit(at, status, actor, resource, run_id, error))

    def latest(self, pipeline: str, asset: str, partition_key: str) -> MaterializationRecord | None:
        with self._read("read") as c:
            row = c.execute(
                statements.LATEST, {"b_pipeline": pipeline, "b_asset": asset, "b_key": partition_key}
            ).first()
        if row is None:
            return None
        return MaterializationRecord(
            row.pipeline,
            row.asset,
            row.partition_key,
            row.run_id,
            row.status,
            row.attempts,
            aware(row.started_at),
            aware(row.finished_at),
            row.error,
            row.duration_ms,
            row.code_version,
        )

    def completed(
        self, pipeline: str, partition_keys: Sequence[str], assets: Sequence[str]
    ) -> dict[str, set[str]]:
        latest: dict[tuple[str, str], str] = {}
        with self._read("read") as c:
            for k in range(0, len(partition_keys), statements.CHUNK):
                for a in range(0, len(assets), statements.CHUNK):
                    params = {
                        "b_pipeline": pipeline,
                        "b_keys": list(partition_keys[k : k + statements.CHUNK]),
                        "b_assets": list(assets[a : a + statements.CHUNK]),
                    }
                    for key, asset, status in c.execute(statements.STATUSES, params):
                        latest[key, asset] = status  # ordered by id: the last seen is the newest
        found: dict[str, set[str]] = {}
        for (key, asset), status in latest.items():
            if status == "completed":
                found.setdefault(key, set()).add(asset)
        return found

    def partition_states(self, pipeline: str, asset: str) -> dict[str, str]:
        with self._read("read") as c:
            rows = c.execute(statements.PARTITION_STATES, {"b_pipeline": pipeline, "b_asset": asset})
            return {key: status for key, status in rows}  # noqa: C416 - newest (last) wins

    def delete(self, pipeline: str, asset: str, partition_key: str) -> int:
        with self._write("delete from") as c:
            removed = c.execute(
                delete(M).where(
                    M.c.pipeline == pipeline, M.c.asset == asset, M.c.partition_key == partition_key
                )
            ).rowcount
            c.execute(
                delete(lineage).where(
                    lineage.c.pipeline == pipeline,
                    lineage.c.asset == asset,
                    lineage.c.partition_key == partition_key,
                )
            )
            return int(removed)

    def release(self, pipeline: str) -> None:
        pass  # durable: nothing is held in memory per pipeline


def _run_end_audit(
    at: datetime, status: str, actor: str, resource: str, run_id: str, error: str | None
) -> dict[str, Any]:
    """The audit row of a run that ended (``run.finished`` or ``run.failed``)."""
    completed = status in ("completed", "skipped")  # a run whose target was skipped ended well
    return audit_row(
        at,
        "run.finished" if completed else "run.failed",
        actor,
        resource,
        "finish" if completed else "fail",
        {"run_id": run_id, "error": error},
    )


class _Transaction:
    """``with store._write(...) as connection``: one transaction, driver errors translated."""

    def __init__(self, store: SQLStore, engine: Any, doing: str) -> None:
        self._store = store
        self._engine = engine
        self._doing = doing
        self._context: Any = None
        self._serial: Any = None

    def __enter__(self) -> Connection:
        self._serial = serialize(self._store.engines, self._engine, self._store.timeouts.statement)
        try:
            with translate(self._store.url, self._doing):
                self._context = self._engine.begin()
                connection: Connection = self._context.__enter__()
                return connection
        except BaseException:
            if self._serial is not None:
                self._serial.release()
            raise

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        try:
            with translate(self._store.url, self._doing):
                suppressed = bool(self._context.__exit__(exc_type, exc, traceback))
        finally:
            if self._serial is not None:
                self._serial.release()
        if exc is not None and is_connection_error(exc):
            # The connection broke inside the transaction (it has been rolled back).
            raise unavailable(self._store.url, exc, self._doing) from exc
        return suppressed
