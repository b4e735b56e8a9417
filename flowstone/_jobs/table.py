"""``JobTable``: the SQL behind the job layer, on SQLite and PostgreSQL.

Claims take rows in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
serialises writers), increment ``attempt`` and record the owner; no lock is held while a
job runs. Every acknowledgement is fenced on ``(id, state='executing', attempt, owner)``,
so a job rescued from a dead node and later finished by that node's zombie is never
counted twice. All time comparisons use the database clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    case,
    insert,
    literal,
    select,
    update,
)

from flowstone._jobs import statements
from flowstone._jobs.admin_queries import AdminQueries
from flowstone._jobs.claimed import ClaimedJob, claimed_from_row
from flowstone._jobs.records import Unique
from flowstone._jobs.sql import NOTIFY_CHANNEL
from flowstone._jobs.upkeep_queries import QueuePauses, UpkeepQueries
from flowstone._store.records import WholeRun
from flowstone._store.sql import precompiled, recordsets
from flowstone._store.sql.batch import BatchRows, write_runs
from flowstone._store.sql.schema import jobs

__all__ = ["NOTIFY_CHANNEL", "ClaimedJob", "JobTable", "NewJob", "QueuePauses"]

J = jobs


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """A job to insert."""

    queue: str
    pipeline_ref: str
    pipeline: str
    asset: str
    partition_key: str
    options: Mapping[str, Any]
    priority: int
    max_attempts: int
    scheduled_at: datetime | None = None
    unique: Unique | None = None


def unique_key(job: NewJob, now: float) -> str | None:
    """The value of the unique index for a job: its keys and its period window."""
    if job.unique is None:
        return None
    fields = {
        "pipeline": job.pipeline,
        "asset": job.asset,
        "partition": job.partition_key,
        "queue": job.queue,
        "options": json.dumps(dict(job.options), sort_keys=True, default=str),
    }
    window = int(now // job.unique.period)
    material = json.dumps([[k, fields[k]] for k in job.unique.keys] + [job.unique.period, window])
    return hashlib.sha256(material.encode()).hexdigest()


class JobTable(AdminQueries, UpkeepQueries):
    """Job queries over one store's engines: enqueue, claim, acknowledge (and, from the
    mixins, admin and upkeep)."""

    # --- enqueue -------------------------------------------------------------------
    def _row(self, c: Connection, job: NewJob, now: float) -> dict[str, Any]:
        options = dict(job.options)
        if job.unique is not None:
            options["unique_states"] = list(job.unique.states)
        return {
            "queue": job.queue,
            "pipeline_ref": job.pipeline_ref,
            "pipeline": job.pipeline,
            "asset": job.asset,
            "partition_key": job.partition_key,
            "options": json.dumps(options, sort_keys=True, default=str),
            "priority": job.priority,
            "attempt": 0,
            "max_attempts": job.max_attempts,
            "snoozed": 0,
            "errors": "[]",
            "unique_key": unique_key(job, now),
        }

    def insert(self, job: NewJob) -> tuple[int, bool]:
        """Insert one job; (id, True), or (the existing job's id, False) for a duplicate."""
        with self._store._write("enqueue a job in") as c:
            row = self._row(c, job, time.time())
            db_now = self.now(c)
            at = job.scheduled_at if job.scheduled_at is not None else db_now
            state = (
                case(
                    (literal(job.scheduled_at, J.c.scheduled_at.type) > db_now, "scheduled"),
                    else_="available",
                )
                if job.scheduled_at is not None
                else literal("available")
            )
            statement = self._insert(c)(J).values(**row, state=state, inserted_at=db_now, scheduled_at=at)
            if row["unique_key"] is not None:
                statement = statement.on_conflict_do_nothing(index_elements=[J.c.unique_key])
            inserted = c.execute(statement.returning(J.c.id)).scalar()
            if inserted is None:
                existing = c.execute(select(J.c.id).where(J.c.unique_key == row["unique_key"])).scalar_one()
                return int(existing), False
            self._notify(c, [job.queue])
            return int(inserted), True

    def insert_many(self, batch: Sequence[NewJob]) -> list[int]:
        """Insert jobs in bulk, available now (no uniqueness, no schedule), in one
        transaction; their ids in order."""
        if not batch:
            return []
        if any(job.scheduled_at is not None or job.unique is not None for job in batch):
            raise ValueError("insert_many takes jobs to run now, without unique: use insert for those")
        with self._store._write("enqueue jobs in") as c:
            now = time.time()
            rows = [{**self._row(c, job, now), "state": "available"} for job in batch]
            if c.dialect.name == "postgresql":
                # Take the ids from the sequence in one round trip, then insert the rows,
                # ids and all, as one JSON parameter (``insert_many_statement``).
                ids = [int(i) for i in c.execute(statements.NEXT_IDS, {"b_count": len(rows)}).scalars()]
                for row, job_id in zip(rows, ids, strict=True):
                    row["id"] = job_id
                precompiled.execute(c, statements.insert_many_statement(), {"b_rows": json.dumps(rows)})
            else:
                db_now = self.now(c)
                statement = insert(J).values(inserted_at=db_now, scheduled_at=db_now)
                returning = statement.returning(J.c.id, sort_by_parameter_order=True)
                ids = [int(i) for i in c.execute(returning, rows).scalars()]
            self._notify(c, (job.queue for job in batch))
            return ids

    # --- claiming and acknowledging ------------------------------------------------
    def claim(self, queue: str, node_id: str, limit: int) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs of ``queue`` for ``node_id``, best first."""
        if limit <= 0:
            return []
        with self._store._claims("claim jobs in") as c:  # one statement: atomic on its own
            params = {"b_queue": queue, "b_pause": f"pause:{queue}", "b_limit": limit, "b_node": node_id}
            statement = statements.claim_statement(c.dialect.name)
            if c.dialect.name == "postgresql":  # the hottest statement: see precompiled
                rows = precompiled.execute(c, statement, params)
            else:
                rows = c.execute(statement, params).all()
        claimed = [claimed_from_row(r) for r in rows]  # never raises: see ClaimedJob.defect
        claimed.sort(key=lambda j: j.id)
        return claimed

    @staticmethod
    def _keeps_unique(job: ClaimedJob, state: str) -> bool:
        if state == "available":
            return True  # given back unrun: it is the same job, waiting as it was
        if job.defect is not None:
            return False  # submitting it again is the fix: nothing may block that
        states = job.options.get("unique_states")
        return states is None or state in states

    def _ack(self, job: ClaimedJob, node_id: str, kind: str, doing: str, **params: Any) -> bool:
        """One fenced UPDATE, on its own."""
        with self._store._single(doing) as c:
            return self._ack_in(c, job, node_id, kind, **params)

    def _ack_in(self, c: Connection, job: ClaimedJob, node_id: str, kind: str, **params: Any) -> bool:
        """One fenced UPDATE: applied only if this node still owns this attempt."""
        dialect = c.dialect.name
        if "b_shift" in params:
            params["b_shift"] = statements.shift(dialect, params["b_shift"])
        clear_unique = not self._keeps_unique(job, statements.ACK_STATES[kind])
        statement = statements.ack_statement(dialect, kind, clear_unique)
        fence = {"b_id": job.id, "b_attempt": job.attempt, "b_node": node_id}
        return bool(c.execute(statement, {**fence, **params}).rowcount)

    def complete(self, job: ClaimedJob, node_id: str, run_id: str | None) -> bool:
        return self._ack(job, node_id, "complete", "complete a job in", b_run_id=run_id)

    def complete_many(self, batch: Sequence[ClaimedJob], node_id: str) -> set[int]:
        """Complete several jobs of this node in one transaction (the batch-claim path:
        ``claim(n)`` then one acknowledgement); the ids whose fence held."""
        if not batch:
            return set()
        if self._store.engines.dialect == "postgresql":  # one statement, whatever the jobs
            acks = [(job.id, job.attempt, None, not self._keeps_unique(job, "completed")) for job in batch]
            with self._store._single("complete jobs in") as c:
                return recordsets.complete_jobs(c, acks, node_id)
        # One statement (all jobs clear their unique key, or none) needs no transaction.
        single = len({self._keeps_unique(job, "completed") for job in batch}) == 1
        with (self._store._single if single else self._store._write)("complete jobs in") as c:
            return self._complete_many_in(c, batch, node_id)

    def complete_runs(self, done: Sequence[tuple[ClaimedJob, WholeRun]], node_id: str) -> list[WholeRun]:
        """Complete jobs and record their runs, all in one transaction; the runs as
        recorded, in order. The run of a job no longer this node's (cancelled, rescued)
        is recorded failed, its value not stored: whoever owns the job now runs it again."""
        if not done:
            return []
        holds = self._store.holds
        if self._store.engines.dialect == "postgresql":
            return self._complete_runs_fused(done, node_id)[0]
        run_ids = {job.id: run.start.run_id for job, run in done}
        with self._store._write("complete jobs in") as c:
            applied = self._complete_many_in(c, [job for job, _ in done], node_id, run_ids)
            runs = [run if job.id in applied else run.refused(statements.REFUSED) for job, run in done]
            write_runs(c, runs, holds)
            return runs

    def complete_runs_and_claim(
        self, done: Sequence[tuple[ClaimedJob, WholeRun]], node_id: str, queue: str, limit: int
    ) -> tuple[list[WholeRun], list[ClaimedJob] | None]:
        """``complete_runs`` and ``claim(queue, node_id, limit)``: a queue's group commit
        and the refill of its freed workers. On PostgreSQL one statement does both, so the
        new jobs are claimed in the commit that records the old ones (which must be
        durable before new work starts: see ``queue``), in one round trip. Elsewhere
        (or with nothing to complete) the claim is not made: None, for the caller's own."""
        if not done or limit <= 0 or self._store.engines.dialect != "postgresql":
            return self.complete_runs(done, node_id), None
        params = {"b_queue": queue, "b_pause": f"pause:{queue}", "b_limit": limit, "b_node": node_id}
        claim = (statements.claim_statement("postgresql"), params)
        runs, rows = self._complete_runs_fused(done, node_id, claim)
        # A job of a target recorded by this very statement read the snapshot before it:
        # its ``target_done`` is unknown (None: looked up when it runs), not False.
        recorded = {(run.start.pipeline, run.start.asset, run.start.partition_key) for run in runs}
        claimed = []
        for row in rows:
            job = claimed_from_row(row)
            if (job.pipeline, job.asset, job.partition_key) in recorded:
                job = dataclasses.replace(job, target_done=None)
            claimed.append(job)
        claimed.sort(key=lambda j: j.id)
        return runs, claimed

    def _complete_runs_fused(
        self,
        done: Sequence[tuple[ClaimedJob, WholeRun]],
        node_id: str,
        claim: tuple[Any, Mapping[str, Any]] | None = None,
    ) -> tuple[list[WholeRun], list[Any]]:
        """PostgreSQL: the completions and the records of their runs in one statement
        (``recordsets``), in autocommit mode unless lineage must follow in the same
        transaction; a refused job's run is recorded failed after it. With ``claim``, the
        rows that statement claimed too."""
        rows = BatchRows.of([run for _, run in done], self._store.holds, datetime.isoformat)
        acks = [
            (job.id, job.attempt, run.start.run_id, not self._keeps_unique(job, "completed"))
            for job, run in done
        ]
        with (self._store._write if rows.edges else self._store._single)("complete jobs in") as c:
            applied, claimed = recordsets.write_and_claim(c, rows, acks, node_id, claim)
            runs = [run if job.id in applied else run.refused(statements.REFUSED) for job, run in done]
            refused = [run for run in runs if run.completion is None]
            if refused:
                write_runs(c, refused, self._store.holds)
            rows.write_edges(c, {run.start.run_id for run in runs if run.completion is not None})
            return runs, claimed

    def _complete_many_in(
        self,
        c: Connection,
        batch: Sequence[ClaimedJob],
        node_id: str,
        run_ids: Mapping[int, str] | None = None,
    ) -> set[int]:
        """The fenced completion of ``batch``, setting each job's ``run_id`` if given."""
        by_clearing: dict[bool, list[tuple[int, int]]] = {}
        for job in batch:
            clear_unique = not self._keeps_unique(job, "completed")
            by_clearing.setdefault(clear_unique, []).append((job.id, job.attempt))
        done: set[int] = set()
        for clear_unique, pairs in by_clearing.items():
            params: dict[str, Any] = {"b_pairs": pairs, "b_node": node_id}
            if run_ids is not None:
                for n, (job_id, _) in enumerate(pairs):
                    params[f"b_job{n}"], params[f"b_run{n}"] = job_id, run_ids[job_id]
            with_runs = 0 if run_ids is None else len(pairs)
            statement = statements.complete_many_statement(c.dialect.name, clear_unique, with_runs)
            done.update(c.execute(statement, params).scalars())
        return done

    def complete_in(self, connection: Connection, job: ClaimedJob, node_id: str, run_id: str) -> bool:
        """``complete`` inside the caller's transaction (the materialization's own)."""
        return self._ack_in(connection, job, node_id, "complete", b_run_id=run_id)

    def fail(self, job: ClaimedJob, node_id: str, error: str, retry_in: float | None) -> bool:
        errors = [*job.errors, {"attempt": job.attempt, "at": datetime.now(UTC).isoformat(), "error": error}]
        if retry_in is not None and job.attempt < job.max_attempts:
            return self._ack(
                job, node_id, "retry", "retry a job in", b_errors=json.dumps(errors), b_shift=retry_in
            )
        return self._ack(job, node_id, "discard", "discard a job in", b_errors=json.dumps(errors))

    def wait(self, job: ClaimedJob, node_id: str, run_id: str) -> bool:
        """The job's run waits durably: ``waiting`` until that run ends (``end_waiting``)."""
        return self._ack(job, node_id, "wait", "record a waiting job in", b_run_id=run_id)

    def end_waiting(self, job_id: int, error: str | None) -> bool:
        """The run of a waiting job ended (resumed anywhere): completed, or discarded with ``error``."""
        with self._store._write("end a waiting job in") as c:
            now = self.now(c)
            if error is None:
                values: dict[str, Any] = {"state": "completed", "completed_at": now}
            else:
                row = c.execute(select(J.c.errors, J.c.attempt).where(J.c.id == job_id)).first()
                errors = [] if row is None else json.loads(row.errors or "[]")
                errors.append(
                    {
                        "attempt": 0 if row is None else row.attempt,
                        "at": datetime.now(UTC).isoformat(),
                        "error": error,
                    }
                )
                values = {
                    "state": "discarded",
                    "discarded_at": now,
                    "errors": json.dumps(errors),
                    "unique_key": None,
                }
            return bool(
                c.execute(update(J).where(J.c.id == job_id, J.c.state == "waiting").values(**values)).rowcount
            )

    def snooze(self, job: ClaimedJob, node_id: str, seconds: float) -> bool:
        return self._ack(job, node_id, "snooze", "snooze a job in", b_shift=seconds)

    def release(self, job: ClaimedJob, node_id: str) -> bool:
        """Give back a claimed job that did not run: ``available`` again, in its place in
        the claim order, its attempt not used (``isolation``)."""
        return self._ack(job, node_id, "release", "give back a job in")
