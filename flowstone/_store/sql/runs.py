"""The SQL store's writes of runs and materializations: a run starts, an attempt runs, a
materialization completes or fails, a run ends.

Each write that counts a state change is conditional (``UPDATE … WHERE status =
'running'``), so a repeated or late delivery changes nothing. A value stored with
``fs.io.SQL`` is written in the same transaction that marks its materialization
completed: both or neither.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, update

from flowstone._store.records import Completion, Failure, RunStart, WholeRun
from flowstone._store.sql import batch, driver, driver_writes, fused, statements
from flowstone._store.sql.history import audit_row, link, run_end_audit
from flowstone._store.sql.schema import materializations, runs
from flowstone._store.sql.values import SQLValues
from flowstone._tags import decode_tags, encode_tags, tagged
from flowstone.io import AssetKey, IOManager

if TYPE_CHECKING:
    from flowstone._store.sql.engine import Engines

__all__ = ["RunWrites"]

M = materializations
_CLOSE_RUN = statements.CLOSE_RUN.returning(runs.c.tags)


class _NotRunningError(Exception):
    """Rolls a completion back when its record is no longer running."""


class RunWrites:
    """Mixed into ``SQLStore``: the writes of runs and their materializations."""

    if TYPE_CHECKING:  # SQLStore's

        @property
        def engines(self) -> Engines: ...
        def _write(self, doing: str) -> Any: ...
        def _single(self, doing: str) -> Any: ...
        def _driver_write(self, doing: str) -> Any: ...

    def start_run(self, run: RunStart) -> None:
        running = set(run.running)
        sqlite = self.engines.dialect == "sqlite"  # timestamps as text: on the driver (driver_writes)
        at: Any = driver.text_of(run.at) if sqlite else run.at
        run_row = {
            "run_id": run.run_id,
            "pipeline": run.pipeline,
            "asset": run.asset,
            "partition_key": run.partition_key,
            "status": "running",
            "options": json.dumps(dict(run.options), default=str, sort_keys=True),
            "started_at": at,
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
                "started_at": at if a in running else None,
            }
            for a in run.plan
        ]
        audit = audit_row(
            at,
            "run.started",
            run.actor,
            f"{run.pipeline}/{run.asset}/{run.partition_key}",
            "start",
            {"run_id": run.run_id, "plan": list(run.plan), **run.options, **tagged(run.tags)},
        )
        if sqlite:
            with self._driver_write("record a run in") as d:
                driver_writes.start(d, None if run.nested else run_row, records, audit)
            return
        if run.nested:  # the records of its outer run's upstream partitions: no run row of its own
            with self._write("record a run in") as c:
                c.execute(statements.INSERT_MATERIALIZATION, records)
            return
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
        owner: object = io.owner if isinstance(io, SQLValues) else None  # a Transactions protocol
        return owner is self

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
        if done.fence is None and self.engines.dialect == "sqlite":
            stored = None if joined is None or payload is None else joined.row(key, payload, done.at)
            with self._driver_write("record a materialization in") as d:
                return driver_writes.complete(d, done, stored)
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
                    audit = run_end_audit(
                        done.at, "completed", done.actor, resource, done.run_id, None, done.tags
                    )
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
        """The statements that ``fused.complete`` runs as one, one by one (SQLite, with a
        fence: ``driver_writes`` without one)."""
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
        closed = c.execute(_CLOSE_RUN, params).first()  # its tags: every end's audit names them
        if closed is not None:
            ended = run_end_audit(at, status, actor, resource, run_id, error, decode_tags(closed.tags))
            c.execute(statements.INSERT_AUDIT, ended)
