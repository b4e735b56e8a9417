"""A scatter waits on its barrier through the durable-wait mechanism, as a gate on its signal.

The scatter's attempt writes its keys, hands them to the node's ``scatters`` child and
returns a ``ScatterWait``: the materialization is then ``waiting`` and its runner free.
When the last key ends (wherever it ran: this node, a helping worker, a process that
adopted the barrier after a crash) ``settle`` resolves the wait, and the run continues
with ``ScatterResumption``, which gathers once. ``node.cancel`` resolves it
``cancelled``: the resumption ends the asset with ``ScatterCancelledError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._waits.records import WaitRecord
from flowstone._waits.runtime import Waits, now, wait_of
from flowstone._waits.suspension import Resumption, Suspension
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context
    from flowstone._store.barrier import ScatterBarrier

__all__ = ["KIND", "ScatterResumption", "ScatterWait", "settle"]

log = get_logger("flowstone")

KIND = "scatter"
_KEY = "scatter"  # one scatter per materialization: its wait's key
ENDED = "ended"  # the wait's state once every key has ended (not one of ``OPEN``)
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ScatterWait(Suspension):
    """Returned by a scatter's attempt once its keys are written: wait for the barrier of
    ``scatter_run_id``. ``drive`` starts running the keys once the wait exists (so that
    the last key to end always finds a wait to resolve)."""

    scatter_run_id: str
    drive: Callable[[], None]

    def persist(self, ctx: Context, waits: Waits) -> str:
        partition_key = partitions.serialize(ctx.partition)
        existing = waits.store.find(ctx.run_id, ctx.asset, partition_key, _KEY)
        if existing is None:
            existing = waits.store.create(
                wait_of(ctx, KIND, _KEY, metadata={"scatter_run_id": self.scatter_run_id})
            )
        self.drive()
        return existing.id


def settle(waits: Waits | None, barrier: ScatterBarrier, run_id: str, asset: str, *, cancelled: bool) -> int:
    """Resolve the waits on the barrier of ``run_id``'s scatter of ``asset`` if it has ended
    (every key ended, or it was cancelled here or elsewhere); how many it resolved.

    Every materialization waiting on that barrier is resolved (the run's own, and a run
    that adopted it after a crash); one of them gathers, the others take its value."""
    if waits is None:
        return 0
    progress = barrier.progress(run_id, asset)
    if progress is None:
        return 0
    if cancelled or progress.state == "cancelled":
        if cancelled:
            barrier.finish(run_id, asset, from_states=["open"], to="cancelled")
        to = CANCELLED
    elif progress.state != "open" or (progress.total is not None and progress.finished >= progress.total):
        to = ENDED
    else:
        return 0  # keys are left (this node stopped): whoever runs the last one settles it
    resolved = 0
    for record in waits.store.select(kind=KIND, states=("waiting",)):
        if record.asset != asset or record.metadata.get("scatter_run_id") != run_id:
            continue
        after, changed = waits.store.resolve(record.id, generation=None, states=("waiting",), to=to, at=now())
        if changed and after is not None:
            resolved += 1
            with contextlib.suppress(Exception):  # not resumable here: the waits' sweep takes it
                waits.kick(after)
    return resolved


@dataclass(frozen=True, slots=True)
class ScatterResumption(Resumption):
    """Every key of the scatter has ended (or it was cancelled): gather, once."""

    ends_by_itself = True
    record: WaitRecord

    def call(self, asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        from flowstone._scatter.gather import Gathering, gather  # noqa: PLC0415 - import cycle

        waits: Waits | None = ctx._waits
        assert waits is not None
        assert waits.services is not None
        scatter_run_id = str(self.record.metadata.get("scatter_run_id", self.record.run_id))
        job = Gathering(waits.services, asset, ctx, scatter_run_id)
        return gather(job, cancelled=self.record.state == CANCELLED)
