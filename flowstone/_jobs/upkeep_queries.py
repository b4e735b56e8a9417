"""Node upkeep queries: heartbeats, orphan rescue, leases, pruning, cluster-wide pauses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, case, delete, func, select, update

from flowstone._jobs.records import TERMINAL
from flowstone._jobs.sql import SQLBase
from flowstone._store.sql.schema import jobs, leases, nodes

__all__ = ["QueuePauses", "UpkeepQueries"]

J = jobs


class UpkeepQueries(SQLBase):
    """Queries run by every node's maintenance actor."""

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
        with self._table._store._read("read queue pauses from") as c:
            names = c.execute(select(leases.c.name).where(leases.c.name.like("pause:%"))).scalars().all()
        return {name.removeprefix("pause:") for name in names}
