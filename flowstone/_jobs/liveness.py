"""Whether nodes and queues are alive, judged from what the database shows: plain data in,
a health ``Check`` out (no actors, no database, no clock reads).

A node is *stale* when its last heartbeat is older than its own ``rescue_after``: the
setting it heart-beats by, whoever looks. A queue is unhealthy when jobs wait that nobody
will claim: no worker alive works it, it is paused, or its idle workers have claimed
nothing for ``STALLED_AFTER`` seconds. A queue whose workers are all busy is not unhealthy,
only behind: a liveness probe must not restart workers for having work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowstone._node.health import Check

__all__ = [
    "DEFAULT_RESCUE_AFTER",
    "STALLED_AFTER",
    "NodeBeat",
    "QueueState",
    "nodes_check",
    "queue_check",
]

#: The rescue_after a node is judged by when its heartbeat row has none (an older version).
DEFAULT_RESCUE_AFTER = 60.0
#: Seconds a due job may wait, while workers are idle and nothing is claimed, before the
#: queue counts as stalled (a poll interval is one second by default).
STALLED_AFTER = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeBeat:
    """A node's heartbeat row, its age measured by the database clock."""

    node_id: str
    name: str
    hostname: str
    pid: int
    queues: Mapping[str, int] = field(default_factory=dict)
    rescue_after: float | None = None
    heartbeat_age_s: float = 0.0

    @property
    def judged_by(self) -> float:
        """The ``rescue_after`` its heartbeat is judged by: its own."""
        return DEFAULT_RESCUE_AFTER if self.rescue_after is None else self.rescue_after

    @property
    def stale(self) -> bool:
        """Its heartbeat is overdue by its own ``rescue_after``: dead, or cut off."""
        return self.heartbeat_age_s > self.judged_by

    def describe(self) -> str:
        queues = ", ".join(f"{name}={limit}" for name, limit in sorted(self.queues.items()))
        works = f", works {queues}" if queues else ", submits only"
        return f"{self.node_id} on {self.hostname} (pid {self.pid}{works})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "name": self.name,
            "hostname": self.hostname,
            "pid": self.pid,
            "queues": dict(self.queues),
            "rescue_after": self.rescue_after,
            "heartbeat_age_s": round(self.heartbeat_age_s, 1),
            "status": "stale" if self.stale else "live",
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueState:
    """A queue as its jobs show it, ages in seconds by the database clock."""

    queue: str
    waiting: int = 0  # due and claimable now
    oldest_waiting_s: float | None = None
    executing: int = 0
    last_claim_s: float | None = None  # since the last claim of any of its jobs, by any node


def nodes_check(beats: Sequence[NodeBeat]) -> Check:
    """``runners`` of ``flowstone health``: the nodes heart-beating on the database."""
    live = [beat for beat in beats if not beat.stale]
    stale = [beat for beat in beats if beat.stale]
    if not beats:
        return Check(True, "no node heart-beats on this database")
    parts = [f"{len(live)} live: " + "; ".join(beat.describe() for beat in live)] if live else ["0 live"]
    if stale:
        parts.append(
            f"{len(stale)} stale (no heartbeat within their own rescue_after: dead or cut off; "
            "their jobs are rescued by a live worker): "
            + "; ".join(
                f"{beat.describe()}, last heartbeat {beat.heartbeat_age_s:.1f} s ago, "
                f"rescue_after {beat.judged_by:g} s"
                for beat in stale
            )
        )
    return Check(not stale, " — ".join(parts))


def _ago(seconds: float | None, never: str) -> str:
    return never if seconds is None else f"{seconds:.1f} s ago"


def queue_check(state: QueueState, *, workers: int, busy: int, paused: bool) -> Check:
    """One queue: fails when jobs wait and no worker will claim them.

    ``workers`` are the workers alive that may claim (within the queue's limit), ``busy``
    those running a job, ``paused`` whether claiming is paused.
    """
    noun = "worker" if workers == 1 else "workers"
    waiting = f"{state.waiting} waiting"
    if state.waiting and state.oldest_waiting_s is not None:
        waiting += f", the oldest for {state.oldest_waiting_s:.1f} s"
    detail = f"{workers} {noun} alive, {busy} busy; {waiting}; last claim {_ago(state.last_claim_s, 'never')}"
    if not state.waiting:
        return Check(True, detail)
    if workers == 0:
        return Check(False, f"{detail}: no worker alive works this queue (start one: flowstone worker)")
    if paused:
        return Check(False, f"{detail}: the queue is paused (flowstone jobs resume {state.queue})")
    stalled = (state.oldest_waiting_s or 0.0) > STALLED_AFTER and (
        state.last_claim_s is None or state.last_claim_s > STALLED_AFTER
    )
    if busy < workers and stalled:
        return Check(
            False, f"{detail}: idle workers have claimed nothing for over {STALLED_AFTER:g} s (see the logs)"
        )
    return Check(True, detail)
