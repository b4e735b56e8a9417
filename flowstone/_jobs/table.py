"""``JobTable``: the SQL behind the job layer, on SQLite and PostgreSQL.

Claims take rows in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
serialises writers), increment ``attempt`` and record the owner; no lock is held while a
job runs. Every acknowledgement is fenced on ``(id, state='executing', attempt, owner)``,
so a job rescued from a dead node and later finished by that node's zombie is never
counted twice. All time comparisons use the database clock.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from flowstone._jobs.records import TERMINAL, JobInfo, Unique
from flowstone._store.sql.schema import jobs, leases, nodes

__all__ = ["ClaimedJob", "JobTable", "NewJob", "QueuePauses"]

J = jobs
NOTIFY_CHANNEL = "flowstone_jobs"


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


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this node now owns for one attempt."""

    id: int
    queue: str
    pipeline_ref: str
    pipeline: str
    asset: str
    partition_key: str
    options: dict[str, Any]
    attempt: int
    max_attempts: int
    errors: list[dict[str, Any]]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


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


class JobTable:
    """Job queries over one engine pair (``SQLStore.engines``)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    # --- clock ---------------------------------------------------------------------
    def now(self, c: Connection, offset: float = 0.0) -> ColumnElement[Any]:
        """The database's current time, shifted by ``offset`` seconds."""
        if c.dialect.name == "postgresql":
            base = func.now()
            if offset:
                return base + func.make_interval(0, 0, 0, 0, 0, 0, literal(float(offset)))
            return base
        modifier = f"{offset:+.6f} seconds"
        return func.strftime("%Y-%m-%d %H:%M:%f000", "now", modifier)

    def _insert(self, c: Connection) -> Any:
        return postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert

    def _notify(self, c: Connection, queues: Iterable[str]) -> None:
        if c.dialect.name == "postgresql":
            for queue in sorted(set(queues)):
                c.execute(
                    text("SELECT pg_notify(:channel, :queue)"), {"channel": NOTIFY_CHANNEL, "queue": queue}
                )

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
        """Insert jobs in bulk (no uniqueness), in one transaction; their ids in order."""
        if not batch:
            return []
        with self._store._write("enqueue jobs in") as c:
            now = time.time()
            stamp = datetime.now(UTC)
            rows = [
                {
                    **self._row(c, job, now),
                    "state": "available",
                    "inserted_at": stamp,
                    "scheduled_at": job.scheduled_at or stamp,
                }
                for job in batch
            ]
            ids = [
                int(i)
                for i in c.execute(insert(J).returning(J.c.id, sort_by_parameter_order=True), rows).scalars()
            ]
            self._notify(c, (job.queue for job in batch))
            return ids

    # --- claiming and acknowledging ------------------------------------------------
    def claim(self, queue: str, node_id: str, limit: int) -> list[ClaimedJob]:
        """Take up to ``limit`` due jobs of ``queue`` for ``node_id``, best first."""
        if limit <= 0:
            return []
        with self._store._write("claim jobs in") as c:
            now = self.now(c)
            due = (
                select(J.c.id)
                .where(
                    J.c.queue == queue,
                    J.c.state.in_(("available", "scheduled", "retryable")),
                    J.c.scheduled_at <= now,
                    J.c.attempt < J.c.max_attempts,
                )
                .order_by(J.c.priority, J.c.scheduled_at, J.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .cte("due")
                .prefix_with("MATERIALIZED")
            )
            rows = c.execute(
                update(J)
                .where(J.c.id.in_(select(due.c.id)))
                .values(state="executing", attempt=J.c.attempt + 1, attempted_at=now, attempted_by=node_id)
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
                )
            ).all()
        claimed = [
            ClaimedJob(
                r.id,
                r.queue,
                r.pipeline_ref,
                r.pipeline,
                r.asset,
                r.partition_key,
                json.loads(r.options),
                r.attempt,
                r.max_attempts,
                json.loads(r.errors),
            )
            for r in rows
        ]
        claimed.sort(key=lambda j: j.id)
        return claimed

    def _fence(self, job: ClaimedJob, node_id: str) -> ColumnElement[bool]:
        return and_(
            J.c.id == job.id,
            J.c.state == "executing",
            J.c.attempt == job.attempt,
            J.c.attempted_by == node_id,
        )

    @staticmethod
    def _keeps_unique(job: ClaimedJob, state: str) -> bool:
        states = job.options.get("unique_states")
        return states is None or state in states

    def _ack(self, job: ClaimedJob, node_id: str, state: str, values: dict[str, Any], doing: str) -> bool:
        with self._store._write(doing) as c:
            now = self.now(c)
            values = {k: (now if v is _NOW else v) for k, v in values.items()}
            if not self._keeps_unique(job, state):
                values["unique_key"] = None
            return bool(
                c.execute(update(J).where(self._fence(job, node_id)).values(state=state, **values)).rowcount
            )

    def complete(self, job: ClaimedJob, node_id: str, run_id: str | None) -> bool:
        return self._ack(
            job, node_id, "completed", {"completed_at": _NOW, "run_id": run_id}, "complete a job in"
        )

    def fail(self, job: ClaimedJob, node_id: str, error: str, retry_in: float | None) -> bool:
        errors = [*job.errors, {"attempt": job.attempt, "at": datetime.now(UTC).isoformat(), "error": error}]
        if retry_in is not None and job.attempt < job.max_attempts:
            with self._store._write("retry a job in") as c:
                values: dict[str, Any] = {"errors": json.dumps(errors), "scheduled_at": self.now(c, retry_in)}
                if not self._keeps_unique(job, "retryable"):
                    values["unique_key"] = None
                return bool(
                    c.execute(
                        update(J).where(self._fence(job, node_id)).values(state="retryable", **values)
                    ).rowcount
                )
        return self._ack(
            job,
            node_id,
            "discarded",
            {"discarded_at": _NOW, "errors": json.dumps(errors)},
            "discard a job in",
        )

    def snooze(self, job: ClaimedJob, node_id: str, seconds: float) -> bool:
        with self._store._write("snooze a job in") as c:
            values: dict[str, Any] = {
                "scheduled_at": self.now(c, seconds),
                "attempt": J.c.attempt - 1,
                "snoozed": J.c.snoozed + 1,
            }
            if not self._keeps_unique(job, "scheduled"):
                values["unique_key"] = None
            return bool(
                c.execute(
                    update(J).where(self._fence(job, node_id)).values(state="scheduled", **values)
                ).rowcount
            )

    # --- admin ---------------------------------------------------------------------
    def get(self, job_id: int) -> JobInfo | None:
        with self._store._read("read a job from") as c:
            row = c.execute(select(J).where(J.c.id == job_id)).first()
        return None if row is None else _info(row)

    def find(self, *, state: str | None, queue: str | None, limit: int) -> list[JobInfo]:
        query = select(J).order_by(J.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(J.c.state == state)
        if queue is not None:
            query = query.where(J.c.queue == queue)
        with self._store._read("list jobs in") as c:
            return [_info(r) for r in c.execute(query).all()]

    def states(self, ids: Sequence[int]) -> dict[int, str]:
        result: dict[int, str] = {}
        with self._store._read("read jobs from") as c:
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                result.update(
                    {r.id: r.state for r in c.execute(select(J.c.id, J.c.state).where(J.c.id.in_(chunk)))}
                )
        return result

    def cancel(self, job_id: int) -> bool:
        with self._store._write("cancel a job in") as c:
            return bool(
                c.execute(
                    update(J)
                    .where(J.c.id == job_id, J.c.state.not_in(TERMINAL))
                    .values(state="cancelled", cancelled_at=self.now(c), unique_key=None)
                ).rowcount
            )

    def retry(self, job_id: int) -> bool:
        with self._store._write("retry a job in") as c:
            changed = c.execute(
                update(J)
                .where(J.c.id == job_id, J.c.state.not_in(("available", "executing")))
                .values(
                    state="available",
                    scheduled_at=self.now(c),
                    completed_at=None,
                    discarded_at=None,
                    cancelled_at=None,
                    max_attempts=case(
                        (J.c.max_attempts <= J.c.attempt, J.c.attempt + 1), else_=J.c.max_attempts
                    ),
                )
                .returning(J.c.queue)
            ).scalar()
            if changed is not None:
                self._notify(c, [changed])
            return changed is not None

    def stats(self) -> dict[str, Any]:
        with self._store._read("count jobs in") as c:
            counts = c.execute(
                select(J.c.queue, J.c.state, func.count()).group_by(J.c.queue, J.c.state)
            ).all()
            oldest = c.execute(select(func.min(J.c.scheduled_at)).where(J.c.state == "available")).scalar()
            db_now = c.execute(select(self.now(c))).scalar()
        by_queue: dict[str, dict[str, int]] = {}
        for queue, state, count in counts:
            by_queue.setdefault(queue, {})[state] = int(count)
        age = None
        if oldest is not None and db_now is not None:
            now_value = db_now if isinstance(db_now, datetime) else datetime.fromisoformat(str(db_now)[:26])
            age = max(0.0, (_aware(now_value) - _aware(oldest)).total_seconds())  # type: ignore[operator]
        totals: dict[str, int] = {}
        for states in by_queue.values():
            for state, count in states.items():
                totals[state] = totals.get(state, 0) + count
        return {"queues": by_queue, "states": totals, "oldest_available_age": age}

    # --- nodes, rescue, pruning ------------------------------------------------------
    def heartbeat(
        self, node_id: str, name: str, hostname: str, pid: int, queues: Mapping[str, int], tree: str | None
    ) -> None:
        with self._store._write("heartbeat into") as c:
            now = self.now(c)
            statement = self._insert(c)(nodes).values(
                node_id=node_id,
                name=name,
                hostname=hostname,
                pid=pid,
                started_at=now,
                heartbeat_at=now,
                queues=json.dumps(dict(queues)),
                tree=tree,
            )
            c.execute(
                statement.on_conflict_do_update(
                    index_elements=[nodes.c.node_id],
                    set_={
                        "heartbeat_at": now,
                        "tree": statement.excluded.tree,
                        "queues": statement.excluded.queues,
                    },
                )
            )

    def forget_node(self, node_id: str) -> None:
        with self._store._write("unregister a node from") as c:
            c.execute(delete(nodes).where(nodes.c.node_id == node_id))

    def live_nodes(self, within: float) -> list[dict[str, Any]]:
        with self._store._read("read nodes from") as c:
            rows = c.execute(
                select(nodes).where(nodes.c.heartbeat_at > self.now(c, -within)).order_by(nodes.c.started_at)
            ).all()
        return [dict(r._mapping) for r in rows]

    def rescue(self, rescue_after: float) -> int:
        """Return jobs executing on nodes that stopped heartbeating to ``available``, or
        ``discarded`` when their attempts are used up."""
        with self._store._write("rescue jobs in") as c:
            alive = select(nodes.c.node_id).where(nodes.c.heartbeat_at > self.now(c, -rescue_after))
            orphaned = and_(
                J.c.state == "executing",
                J.c.attempted_by.not_in(alive),
                J.c.attempted_at < self.now(c, -rescue_after),
            )
            exhausted = J.c.attempt >= J.c.max_attempts
            rescued = (
                c.execute(
                    update(J)
                    .where(orphaned)
                    .values(
                        state=case((exhausted, "discarded"), else_="available"),
                        discarded_at=case((exhausted, self.now(c)), else_=None),
                        scheduled_at=self.now(c),
                    )
                    .returning(J.c.queue)
                )
                .scalars()
                .all()
            )
            c.execute(delete(nodes).where(nodes.c.heartbeat_at < self.now(c, -10 * rescue_after)))
            self._notify(c, rescued)
            return len(rescued)

    def acquire_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Hold the lease ``name`` for ``ttl`` seconds (or renew it); False if another holds it."""
        with self._store._write("take a lease in") as c:
            statement = self._insert(c)(leases).values(name=name, holder=holder, expires_at=self.now(c, ttl))
            statement = statement.on_conflict_do_update(
                index_elements=[leases.c.name],
                set_={"holder": holder, "expires_at": self.now(c, ttl)},
                where=(leases.c.expires_at < self.now(c)) | (leases.c.holder == holder),
            )
            # rowcount is unreliable for INSERT ... ON CONFLICT; a returned row is not.
            return c.execute(statement.returning(leases.c.holder)).first() is not None

    def prune(self, older_than: float, batch: int = 1000, max_batches: int = 10) -> int:
        """Delete terminal jobs finished more than ``older_than`` seconds ago, in batches."""
        removed = 0
        for _ in range(max_batches):
            with self._store._write("prune jobs in") as c:
                finished = func.coalesce(J.c.completed_at, J.c.discarded_at, J.c.cancelled_at)
                old = (
                    select(J.c.id)
                    .where(J.c.state.in_(TERMINAL), finished < self.now(c, -older_than))
                    .order_by(J.c.id)
                    .limit(batch)
                )
                count = c.execute(delete(J).where(J.c.id.in_(old))).rowcount
            removed += count
            if count < batch:
                break
        return removed


_NOW: Any = object()


def _info(row: Any) -> JobInfo:
    return JobInfo(
        id=row.id,
        state=row.state,
        queue=row.queue,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        errors=json.loads(row.errors),
        scheduled_at=_aware(row.scheduled_at),
        attempted_by=row.attempted_by,
        pipeline=row.pipeline,
        asset=row.asset,
        partition_key=row.partition_key,
        priority=row.priority,
        run_id=row.run_id,
    )


class QueuePauses:
    """Cluster-wide pauses, kept as lease rows named ``pause:<queue>`` so that every node's
    producer sees them on its next poll (``flowstone jobs pause``)."""

    def __init__(self, table: JobTable) -> None:
        self._table = table

    def pause(self, queue: str, by: str) -> None:
        self._table.acquire_lease(f"pause:{queue}", by, ttl=100 * 365 * 86400.0)

    def resume(self, queue: str) -> None:
        with self._table._store._write("resume a queue in") as c:
            c.execute(delete(leases).where(leases.c.name == f"pause:{queue}"))

    def paused(self) -> set[str]:
        with self._table._store._read("read queue pauses from") as c:
            names = c.execute(select(leases.c.name).where(leases.c.name.like("pause:%"))).scalars().all()
        return {name.removeprefix("pause:") for name in names}
