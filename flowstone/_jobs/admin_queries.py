"""Reading and administering jobs: get, list, cancel, retry, stats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, type_coerce, update

from flowstone._jobs.claimed import readable_errors
from flowstone._jobs.liveness import QueueState
from flowstone._jobs.records import TERMINAL, JobInfo
from flowstone._jobs.sql import SQLBase, aware
from flowstone._store.sql.schema import CLAIMABLE, Timestamp, jobs
from flowstone._tags import validate_tags

__all__ = ["AdminQueries"]

J = jobs


class AdminQueries(SQLBase):
    """Queries behind ``node.jobs`` and ``flowstone jobs``."""

    def get(self, job_id: int) -> JobInfo | None:
        with self._store._read("read a job from") as c:
            row = c.execute(select(J).where(J.c.id == job_id)).first()
        return None if row is None else _info(row)

    def find(
        self, *, state: str | None, queue: str | None, limit: int, tags: Mapping[str, str] | None = None
    ) -> list[JobInfo]:
        """The newest ``limit`` jobs in ``state`` and ``queue``, and with all of ``tags``.

        Tags live in the options' JSON, which SQLite and PostgreSQL query differently:
        they are matched here, reading newest first until ``limit`` jobs match."""
        query = select(J).order_by(J.c.id.desc())
        if not tags:
            query = query.limit(limit)
        if state is not None:
            query = query.where(J.c.state == state)
        if queue is not None:
            query = query.where(J.c.queue == queue)
        wanted = dict(tags or {}).items()
        found: list[JobInfo] = []
        with self._store._read("list jobs in") as c:
            for row in c.execute(query):
                info = _info(row)
                if wanted <= info.tags.items():
                    found.append(info)
                    if len(found) >= limit:
                        break
        return found

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

    def make_due(self, states: Sequence[str], queue: str | None) -> int:
        """Make every job in ``states`` (``scheduled``, ``retryable``) due now; how many.

        For ``fs.testing.drain(with_scheduled=..., with_retries=...)``: a conditional update,
        so a job another worker claimed or ended meanwhile is left alone.
        """
        query = update(J).where(J.c.state.in_(tuple(states)))
        if queue is not None:
            query = query.where(J.c.queue == queue)
        with self._store._write("make jobs due in") as c:
            return int(c.execute(query.values(scheduled_at=self.now(c))).rowcount)

    def retry(self, job_id: int) -> bool:
        with self._store._write("retry a job in") as c:
            changed = c.execute(
                update(J)
                .where(J.c.id == job_id, J.c.state.not_in(("available", "executing", "waiting")))
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
            age = max(0.0, (aware(now_value) - aware(oldest)).total_seconds())  # type: ignore[operator]
        totals: dict[str, int] = {}
        for states in by_queue.values():
            for state, count in states.items():
                totals[state] = totals.get(state, 0) + count
        return {"queues": by_queue, "states": totals, "oldest_available_age": age}

    def queue_states(self) -> dict[str, QueueState]:
        """Per queue with jobs: how many are due and waiting, since when, how many execute,
        and when one was last claimed (by any node), by the database clock.

        One pass over the jobs table, as ``stats`` (ended jobs count for the last claim
        until they are pruned).
        """
        with self._store._read("read the queues in") as c:
            now = self.now(c)
            due = and_(CLAIMABLE, J.c.scheduled_at <= now, J.c.attempt < J.c.max_attempts)
            rows = c.execute(
                select(
                    J.c.queue,
                    func.count(case((due, 1))).label("waiting"),
                    type_coerce(func.min(case((due, J.c.scheduled_at))), Timestamp).label("oldest"),
                    func.count(case((J.c.state == "executing", 1))).label("executing"),
                    type_coerce(func.max(J.c.attempted_at), Timestamp).label("last_claim"),
                    type_coerce(now, Timestamp).label("db_now"),
                ).group_by(J.c.queue)
            ).all()
        return {
            row.queue: QueueState(
                queue=row.queue,
                waiting=int(row.waiting),
                oldest_waiting_s=_since(row.db_now, row.oldest),
                executing=int(row.executing),
                last_claim_s=_since(row.db_now, row.last_claim),
            )
            for row in rows
        }


def _since(now: datetime, moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return max(0.0, (aware(now) - aware(moment)).total_seconds())  # type: ignore[operator]


def _info(row: Any) -> JobInfo:
    return JobInfo(
        id=row.id,
        state=row.state,
        queue=row.queue,
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        errors=readable_errors(row.errors),  # never raises: a row may hold anything
        scheduled_at=aware(row.scheduled_at),
        attempted_by=row.attempted_by,
        pipeline=row.pipeline,
        asset=row.asset,
        partition_key=row.partition_key,
        priority=row.priority,
        run_id=row.run_id,
        tags=_tags_of(row.options),
    )


def _tags_of(options: object) -> dict[str, str]:
    """The job's tags (``{}`` for a row whose options cannot be read: never raises)."""
    try:
        return dict(validate_tags(json.loads(options).get("tags")))  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        return {}
