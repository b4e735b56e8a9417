"""The end of a scatter: check its failures against ``tolerate``, then gather once.

Called when every key has ended: by the scatter's resumption (its barrier's wait was
resolved, ``flowstone/_scatter/wait.py``) or, in a run that cannot wait, at the end of its
attempt. Of the processes sharing one scatter, the one whose head moves from ``open`` to
``gathering`` gathers; any other waits for its value instead of gathering twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._scatter.results import Results, check_tolerance
from flowstone._store.barrier import ScatterBarrier
from flowstone._store.records import AuditEntry
from flowstone.errors import ScatterCancelledError, ScatterError
from flowstone.events import ScatterGathered
from flowstone.io import AssetKey
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context
    from flowstone._node.services import Services

__all__ = ["POLL", "Gathering", "barrier_of", "gather"]

log = get_logger("flowstone")

POLL = 0.05
"""The longest wait for what only another process can change (a bounded poll)."""


def barrier_of(services: Services) -> ScatterBarrier:
    """The store's barrier (a custom store without one gets the node's in memory)."""
    barrier: ScatterBarrier | None = getattr(services.store, "barrier", None)
    return services.scatter_barrier if barrier is None else barrier


@dataclass(frozen=True, slots=True)
class Gathering:
    """Whose scatter to gather: the asset of the materialization ``ctx`` describes, whose
    keys are in the barrier of ``scatter_run_id`` (the run's own, or a crashed run's it
    adopted)."""

    services: Services
    asset: AssetDef
    ctx: Context
    scatter_run_id: str


def gather(job: Gathering, *, cancelled: bool) -> Any:
    """The asset's value: ``gather(ctx, results)`` (or the values in key order), or the
    ``ScatterError`` / ``ScatterCancelledError`` that ends it."""
    services, ctx, run_id = job.services, job.ctx, job.scatter_run_id
    scatter = job.asset.options.scatter
    assert scatter is not None
    name = job.asset.name
    barrier = barrier_of(services)
    head = barrier.head(run_id, name)
    if cancelled or (head is not None and head.state == "cancelled"):
        barrier.finish(run_id, name, from_states=["open"], to="cancelled")
        raise ScatterCancelledError(
            f"asset {name!r} (run {run_id}): the scatter was cancelled (node.cancel); no more keys "
            "were started. Run the asset again to start afresh",
            asset=name,
            run_id=run_id,
        )
    progress = barrier.progress(run_id, name)
    assert progress is not None
    total = progress.total if progress.total is not None else progress.finished
    if progress.failed:
        first = [(key, error) for key, error in Results(barrier, run_id, name, done=0).failed[:5]]
        try:
            check_tolerance(
                asset=name,
                run_id=run_id,
                total=total,
                failed=progress.failed,
                tolerate=scatter.tolerate,
                first=first,
            )
        except ScatterError:
            barrier.finish(run_id, name, from_states=["open"], to="failed")
            raise
    if not barrier.finish(run_id, name, from_states=["open"], to="gathering"):
        return _gathered_elsewhere(job, barrier)
    results = Results(barrier, run_id, name, done=progress.done)
    value = scatter.gather(ctx, results) if scatter.gather is not None else list(results.values())
    barrier.finish(run_id, name, from_states=["gathering"], to="gathered")
    ctx.log.info("scatter.gathered", done=progress.done, failed=progress.failed)
    _record_gather(job, total, progress.done, progress.failed)
    if services.events.active:
        services.events.emit(
            ScatterGathered(ctx.pipeline, name, ctx.partition, run_id, progress.done, progress.failed)
        )
    return value


def _gathered_elsewhere(job: Gathering, barrier: ScatterBarrier) -> Any:
    """Another process sharing the scatter gathers it: wait for its value (a bounded
    poll: only the database says when) rather than gathering twice."""
    name, run_id = job.asset.name, job.scatter_run_id
    while (head := barrier.head(run_id, name)) is not None and head.state == "gathering":
        time.sleep(POLL)
    if head is None or head.state != "gathered":
        scatter = job.asset.options.scatter
        raise ScatterError(
            f"asset {name!r} (run {run_id}): the process gathering this scatter ended it as "
            f"{None if head is None else head.state!r}; run the asset again",
            asset=name,
            run_id=run_id,
            total=0,
            failed=0,
            tolerate=0.0 if scatter is None else scatter.tolerate,
        )
    io = job.services.resolve_io(job.asset.options.io)
    key = AssetKey(job.ctx.pipeline, name, partitions.serialize(job.ctx.partition))
    deadline = time.monotonic() + 30.0
    while True:  # its value is committed just after the head says gathered
        try:
            return io.load(key)
        except KeyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL)


def _record_gather(job: Gathering, total: int, done: int, failed: int) -> None:
    """The gathered value's provenance: which scatter (run id, whose barrier holds the keys
    and their results) and how many keys, in the audit log next to the run's lineage."""
    ctx = job.ctx
    entry = AuditEntry(
        datetime.now(UTC),
        "scatter.gathered",
        job.services.node_id,
        f"{ctx.pipeline}/{job.asset.name}/{partitions.serialize(ctx.partition)}",
        "gather",
        {
            "run_id": ctx.run_id,
            "scatter_run_id": job.scatter_run_id,
            "total": total,
            "done": done,
            "failed": failed,
        },
    )
    try:
        job.services.store.audit(entry)
    except Exception as exc:  # noqa: BLE001 - provenance is logged, never fails the gather
        log.warning("scatter.audit_failed", asset=job.asset.name, run_id=ctx.run_id, error=str(exc))
