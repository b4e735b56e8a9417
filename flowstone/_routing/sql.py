"""``SQLDecisions``: route decisions in ``flowstone_route_decisions`` (SQLite, PostgreSQL).

The first decision per (run, router, partition) wins by the table's unique constraint:
an insert that conflicts does nothing, and the decision kept is read back in the same
transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from flowstone._routing.decisions import Decision
from flowstone._store.sql.history import aware
from flowstone._store.sql.schema import route_decisions

__all__ = ["SQLDecisions"]

D = route_decisions
PRUNE_BATCH = 1_000
PRUNE_BATCHES = 10


class SQLDecisions:
    """The decision table of one SQL store (it opens and closes the connections)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def first(self, decision: Decision) -> Decision:
        row = {
            "run_id": decision.run_id,
            "pipeline": decision.pipeline,
            "router": decision.router,
            "partition_key": decision.partition_key,
            "branch": decision.branch,
            "fallback": decision.fallback,
            "error": decision.error,
            "decided_at": decision.at,
        }
        with self._store._write("record a route decision in") as c:
            insert = postgresql.insert if c.dialect.name == "postgresql" else sqlite.insert
            statement = (
                insert(D)
                .values(**row)
                .on_conflict_do_nothing(index_elements=[D.c.run_id, D.c.router, D.c.partition_key])
            )
            if c.execute(statement.returning(D.c.id)).scalar() is not None:
                return decision
            kept = c.execute(self._lookup(decision.run_id, decision.router, decision.partition_key)).first()
        assert kept is not None, "a conflicting decision exists"
        return _decision(kept)

    def get(self, run_id: str, router: str, partition_key: str) -> Decision | None:
        with self._store._read("read a route decision from") as c:
            row = c.execute(self._lookup(run_id, router, partition_key)).first()
        return None if row is None else _decision(row)

    def forget_run(self, run_id: str) -> int:
        with self._store._write("delete route decisions in") as c:
            return int(c.execute(delete(D).where(D.c.run_id == run_id)).rowcount)

    def prune(self, before: datetime) -> int:
        """In batches of ``PRUNE_BATCH`` rows, at most ``PRUNE_BATCHES`` per call (a tick of
        the pruner), each its own transaction, as jobs are pruned: no long locks."""
        pruned = 0
        for _ in range(PRUNE_BATCHES):
            with self._store._write("prune route decisions in") as c:
                batch = select(D.c.id).where(D.c.decided_at < before).limit(PRUNE_BATCH).scalar_subquery()
                count = int(c.execute(delete(D).where(D.c.id.in_(batch))).rowcount)
            pruned += count
            if count < PRUNE_BATCH:
                break
        return pruned

    def count(self) -> int:
        with self._store._read("count route decisions in") as c:
            return int(c.execute(select(func.count()).select_from(D)).scalar_one())

    @staticmethod
    def _lookup(run_id: str, router: str, partition_key: str) -> Any:
        return select(D).where(D.c.run_id == run_id, D.c.router == router, D.c.partition_key == partition_key)


def _decision(row: Row[Any]) -> Decision:
    at = aware(row.decided_at)
    assert at is not None, "decided_at is NOT NULL"
    return Decision(
        run_id=row.run_id,
        router=row.router,
        partition_key=row.partition_key,
        pipeline=row.pipeline,
        branch=row.branch,
        at=at,
        fallback=bool(row.fallback),
        error=row.error,
    )
