"""Node upkeep queries: heartbeats, orphan rescue, leases, pruning, cluster-wide pauses.

A node is dead when its heartbeat is older than its *own* ``rescue_after``, which it writes
with every heartbeat: whoever looks (a worker with another setting, a health probe) judges
it by the same measure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from flowstone._jobs.liveness import NodeBeat
from flowstone._jobs.records import TERMINAL
from flowstone._jobs.sql import SQLBase
from flowstone._store.sql import precompiled
from flowstone._store.sql.schema import Timestamp, jobs, leases, nodes

__all__ = ["QueuePauses", "UpkeepQueries"]

J = jobs
#: How many of its own rescue_after a dead node's heartbeat row is kept (health shows it stale).
FORGET_AFTER = 10


class UpkeepQueries(SQLBase):
    """Queries run by every node's maintenance actor."""

    def heartbeat(
        self,
        node_id: str,
        name: str,
        hostname: str,
        pid: int,
        queues: Mapping[str, int],
        tree: str | None,
        rescue_after: float | None = None,
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
                rescue_after=rescue_after,
            )
            c.execute(
                statement.on_conflict_do_update(
                    index_elements=[nodes.c.node_id],
                    set_={
                        "heartbeat_at": now,
                        "tree": statement.excluded.tree,
                        "queues": statement.excluded.queues,
                        "rescue_after": statement.excluded.rescue_after,
                    },
                )
            )

    def forget_node(self, node_id: str) -> None:
        with self._store._write("unregister a node from") as c:
            c.execute(delete(nodes).where(nodes.c.node_id == node_id))

    def beats(self) -> list[NodeBeat]:
        """Every node's heartbeat row, oldest node first, aged by the database clock."""
        return [_beat(row) for row in self._node_rows()]

    def live_nodes(self, within: float | None = None) -> list[dict[str, Any]]:
        """The rows of nodes that heart-beat within their own ``rescue_after`` (or ``within``
        seconds), each with its ``heartbeat_age_s``."""
        rows = []
        for row in self._node_rows():
            beat = _beat(row)
            late = beat.stale if within is None else beat.heartbeat_age_s > within
            if not late:
                fields = {k: v for k, v in row._mapping.items() if k != "db_now"}
                rows.append({**fields, "heartbeat_age_s": beat.heartbeat_age_s})
        return rows

    def _node_rows(self) -> list[Any]:
        with self._store._read("read nodes from") as c:
            db_now = type_coerce(self.now(c), Timestamp).label("db_now")
            return list(c.execute(select(nodes, db_now).order_by(nodes.c.started_at)).all())

    def rescue(self, rescue_after: float, *, back_for: float | None = None) -> int:
        """Return jobs executing on dead nodes to ``available`` (``discarded`` when their
        attempts are used up), each with an error for the lost attempt; the count.

        A node is dead when its heartbeat is older than its own ``rescue_after`` (this
        node's, ``rescue_after``, for a row that has none), or when it left no heartbeat
        row and claimed the job more than ``rescue_after`` ago. ``back_for``: seconds since
        this node came back from being cut off from the database; until then every
        heartbeat may be late for the same reason, so a node is only judged dead once it
        has had two of its heartbeat periods (half its ``rescue_after``) to check in.
        """
        with self._store._write("rescue jobs in") as c:
            theirs = func.coalesce(nodes.c.rescue_after, literal(float(rescue_after), Float))
            late = and_(nodes.c.heartbeat_at < _ago(c, theirs), J.c.attempted_at < _ago(c, theirs))
            if back_for is not None:
                late = and_(late, literal(float(back_for), Float) >= theirs / 2)
            gone = and_(nodes.c.node_id.is_(None), J.c.attempted_at < self.now(c, -rescue_after))
            query = (
                select(
                    J.c.id,
                    J.c.queue,
                    J.c.attempt,
                    J.c.attempted_by,
                    J.c.attempted_at,
                    J.c.errors,
                    nodes.c.heartbeat_at,
                )
                .select_from(J.outerjoin(nodes, nodes.c.node_id == J.c.attempted_by))
                .where(J.c.state == "executing", or_(late, gone))
                .order_by(J.c.id)
            )
            if c.dialect.name == "postgresql":  # a rescuer beside us, or an ack, has it: skip it
                query = query.with_for_update(of=J, skip_locked=True)
            orphans = c.execute(query).all()
            if orphans:
                at = _as_utc(c.execute(select(type_coerce(self.now(c), Timestamp))).scalar_one())
                c.execute(
                    _RESCUE.values(scheduled_at=self.now(c), discarded_at=_discarded(self.now(c))),
                    [
                        {
                            "b_id": row.id,
                            "b_attempt": row.attempt,
                            "b_node": row.attempted_by,
                            "b_errors": json.dumps([*json.loads(row.errors), _orphaned(row, at)]),
                        }
                        for row in orphans
                    ],
                )
                self._notify(c, (row.queue for row in orphans))
            forget = nodes.c.heartbeat_at < _ago(c, FORGET_AFTER * theirs)
            if back_for is not None:
                forget = and_(forget, literal(float(back_for), Float) >= theirs / 2)
            c.execute(delete(nodes).where(forget))
            return len(orphans)

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

    def holds_lease(self, name: str, holder: str) -> bool:
        """Whether ``holder`` holds the lease ``name`` now (a read: nothing is taken)."""
        with self._store._read("read a lease in") as c:
            found = c.execute(
                select(leases.c.holder).where(leases.c.name == name, leases.c.expires_at > self.now(c))
            ).scalar()
        return bool(found == holder)

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


_RESCUE = (
    update(J)
    .where(
        J.c.id == bindparam("b_id"),
        J.c.state == "executing",
        J.c.attempt == bindparam("b_attempt"),
        J.c.attempted_by == bindparam("b_node"),
    )
    .values(
        state=case((J.c.attempt >= J.c.max_attempts, "discarded"), else_="available"),
        errors=bindparam("b_errors"),
    )
)


def _discarded(now: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((J.c.attempt >= J.c.max_attempts, now), else_=None)


def _ago(c: Connection, seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """The database's time ``seconds`` ago, for a number computed per row."""
    if c.dialect.name == "postgresql":
        return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    return func.strftime("%Y-%m-%d %H:%M:%f000", "now", func.printf("%+.6f seconds", -seconds))


def _as_utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes (they are UTC); PostgreSQL the session's time zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _utc(moment: datetime) -> str:
    return _as_utc(moment).isoformat(timespec="seconds")


def _orphaned(row: Any, at: datetime) -> dict[str, Any]:
    """The error of an attempt lost with its node, as Oban's Lifeline records it."""
    if row.heartbeat_at is not None:
        why = f"orphaned: node {row.attempted_by} stopped heart-beating at {_utc(row.heartbeat_at)}"
    else:
        why = (
            f"orphaned: node {row.attempted_by} stopped heart-beating (it left no heartbeat; "
            f"it claimed the job at {_utc(row.attempted_at)})"
        )
    return {"attempt": row.attempt, "at": at.isoformat(), "error": why}


def _beat(row: Any) -> NodeBeat:
    age = (_as_utc(row.db_now) - _as_utc(row.heartbeat_at)).total_seconds()
    return NodeBeat(
        node_id=row.node_id,
        name=row.name,
        hostname=row.hostname,
        pid=row.pid,
        queues=json.loads(row.queues or "{}"),
        rescue_after=row.rescue_after,
        heartbeat_age_s=max(0.0, age),
    )


class QueuePauses:
    """Cluster-wide pauses, kept as lease rows named ``pause:<queue>`` so that every node's
    producer sees them on its next poll (``flowstone jobs pause``)."""

    def __init__(self, table: UpkeepQueries) -> None:
        self._table = table

    def pause(self, queue: str, by: str) -> None:
        self._table.acquire_lease(f"pause:{queue}", by, ttl=100 * 365 * 86400.0)

    def resume(self, queue: str) -> None:
        with self._table._store._write("resume a queue in") as c:
            c.execute(delete(leases).where(leases.c.name == f"pause:{queue}"))

    def paused(self) -> set[str]:
        """The queues paused cluster-wide. Every producer reads this on each poll (at
        ``poll_interval=0.05``, twenty times a second): the statement is built once and,
        on PostgreSQL, runs on the driver's cursor (``precompiled``), 1.2 ms of CPU per
        read through a fresh ``select`` on an idle node, about a fifth of that so (issue 22)."""
        with self._table._store._read("read queue pauses from") as c:
            if c.dialect.name == "postgresql":
                names = [row[0] for row in precompiled.execute(c, _PAUSES, {})]
            else:
                names = list(c.execute(_PAUSES).scalars())
        return {name.removeprefix("pause:") for name in names}


#: The lease rows of cluster-wide pauses (``QueuePauses.paused``).
_PAUSES = select(leases.c.name).where(leases.c.name.like("pause:%"))
