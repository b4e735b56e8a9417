"""Route decisions: one per (run, router, partition), the first one wins, and none piles up.

A router's decision is kept while its run goes on, so that an attempt that runs the
router again in the same run (a retry after the store failed to record its value, a
second worker) takes the branch already taken. What happens to the decision after the
run is the node's ``route_decisions`` policy (seed weakness 10: the Elixir original kept
every decision forever):

- ``"run"`` (the default): the run's decisions are deleted when the run ends;
- ``"keep"``: kept for ``route_decision_ttl`` seconds, then deleted by the pruner (one
  node at a time, with the jobs' upkeep; an in-memory table prunes itself);
- ``"none"``: kept only in the node's memory while the run goes on, never written.

A later run reads the router's stored value (the branch it took), not its decision.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, TypeAlias

from supervisors._log import get_logger

__all__ = ["Decision", "DecisionTable", "MemoryDecisions", "Policy", "RouteDecisions"]

log = get_logger("flowstone")

Policy: TypeAlias = Literal["run", "keep", "none"]
POLICIES: tuple[Policy, ...] = ("run", "keep", "none")


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The branch a router took in one run for one partition (None: no branch).

    ``fallback`` when it raised and its ``fs.Fallback`` branch was taken; ``error`` is
    then what it raised. ``partition_key`` is the serialized partition, never NULL: the
    unpartitioned partition is ``"null"``, so it is deduplicated like any other.
    """

    run_id: str
    router: str
    partition_key: str
    pipeline: str
    branch: str | None
    at: datetime
    fallback: bool = False
    error: str | None = None


class DecisionTable(Protocol):
    """Where decisions are kept; the first one recorded per key wins."""

    def first(self, decision: Decision) -> Decision:
        """Record ``decision`` unless one exists for its key; the one that is kept."""

    def get(self, run_id: str, router: str, partition_key: str) -> Decision | None:
        """The decision kept for the key, if any."""

    def forget_run(self, run_id: str) -> int:
        """Delete the decisions of ``run_id``; how many."""

    def prune(self, before: datetime) -> int:
        """Delete the decisions made before ``before``; how many."""

    def count(self) -> int:
        """How many decisions are kept (for tests and health)."""


class MemoryDecisions:
    """Decisions in a dictionary behind a lock: a node without a database, or ``"none"``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str, str], Decision] = {}

    def first(self, decision: Decision) -> Decision:
        key = (decision.run_id, decision.router, decision.partition_key)
        with self._lock:
            return self._kept.setdefault(key, decision)

    def get(self, run_id: str, router: str, partition_key: str) -> Decision | None:
        with self._lock:
            return self._kept.get((run_id, router, partition_key))

    def forget_run(self, run_id: str) -> int:
        with self._lock:
            keys = [key for key in self._kept if key[0] == run_id]
            for key in keys:
                del self._kept[key]
            return len(keys)

    def prune(self, before: datetime) -> int:
        with self._lock:
            keys = [key for key, d in self._kept.items() if d.at < before]
            for key in keys:
                del self._kept[key]
            return len(keys)

    def count(self) -> int:
        with self._lock:
            return len(self._kept)


class RouteDecisions:
    """The node's decisions under its policy: what the router kind and the pruner call.

    ``table`` is the durable table (None without a database); the ``"none"`` policy
    and a node without a database keep decisions in memory. ``now`` is injected for tests.
    """

    def __init__(
        self,
        policy: Policy = "run",
        ttl: float = 7 * 86400.0,
        table: DecisionTable | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy
        self.ttl = ttl
        self.durable = table is not None and policy != "none"
        self.table: DecisionTable = table if table is not None and policy != "none" else MemoryDecisions()
        self._now = now
        self._lock = threading.Lock()
        self._next_prune: datetime | None = None  # an in-memory table prunes itself

    def decide(
        self, run_id: str, router: str, partition_key: str, choose: Callable[[], Decision]
    ) -> Decision:
        """The decision of ``router`` in ``run_id``: the one already kept, or ``choose()``'s
        recorded (and, if another got there first, the other one)."""
        kept = self.table.get(run_id, router, partition_key)
        if kept is not None:
            return kept
        decision = self.table.first(choose())
        if self.policy == "keep" and not self.durable:
            self._prune_memory()
        return decision

    def now(self) -> datetime:
        return self._now()

    def run_ended(self, run_id: str) -> None:
        """Forget the run's decisions, unless the policy keeps them; never raises (a
        decision left behind is deleted by the next run's end or prune)."""
        if self.policy == "keep":
            return
        try:
            self.table.forget_run(run_id)
        except Exception as exc:  # noqa: BLE001 - logged; the run's own outcome stands
            log.warning("route.decisions_not_deleted", run_id=run_id, error=f"{type(exc).__name__}: {exc}")

    def prune(self) -> int:
        """Delete the decisions older than the ttl (``"keep"``); how many."""
        if self.policy != "keep":
            return 0
        pruned = self.table.prune(self._now() - timedelta(seconds=self.ttl))
        if pruned:
            log.info("route.decisions_pruned", count=pruned)
        return pruned

    def _prune_memory(self) -> None:
        now = self._now()
        with self._lock:
            due = self._next_prune is None or now >= self._next_prune
            if due:
                self._next_prune = now + timedelta(seconds=min(self.ttl, 3600.0) / 4)
        if due:
            self.prune()
