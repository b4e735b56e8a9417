"""Workers help with each other's scatters: a node that works queues runs the keys of any
open scatter in the database whose pipeline it can import.

The scatter's own attempt (on the worker that took its job) writes the keys, runs them
(once its wait resumes); a helper only claims keys from the same barrier, under the same
``max_concurrent`` and rate, and stops when none is left to claim, so that every worker
on the database shares the scatter. A helper that ran the last key settles the scatter's
wait, so that its run resumes even when its driver is gone. The node's ``scatters`` child
looks for open scatters every ``poll_interval`` (a bounded poll: only the database knows
of them).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._scatter.dispatch import Dispatch, dispatch
from flowstone._scatter.units import UnitWork, record, run_unit
from flowstone._scatter.wait import settle
from flowstone._store.barrier import ScatterBarrier, ScatterHead
from flowstone.io import AssetKey
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._node.services import Services

__all__ = ["Helper", "helper_for"]

log = get_logger("flowstone")


class Helper:
    """A node's help with other nodes' scatters: ``help_once`` is one look at the open
    scatters, run by the ``scatters`` child on its help thread; ``stop`` stops the help in
    progress (keys not started go back unrun)."""

    def __init__(
        self, services: Services, barrier: ScatterBarrier, *, allowed: tuple[str, ...] | None
    ) -> None:
        self._services = services
        self._barrier = barrier
        self._allowed = allowed
        self._stopping = threading.Event()
        self._refused: set[str] = set()  # references this node cannot import: never asked again
        self._lock = threading.Lock()
        self._current: threading.Event | None = None  # the help in progress, stopped with the node

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            if self._current is not None:
                self._current.set()

    def help_once(self) -> None:
        try:
            for head in self._barrier.helpable(16):
                if self._stopping.is_set():
                    return
                self._help(head)
        except Exception as exc:  # noqa: BLE001 - a store outage: try again next time
            log.warning("scatter.help_failed", error=f"{type(exc).__name__}: {exc}")

    def _help(self, head: ScatterHead) -> None:
        services = self._services
        if head.pipeline_ref is None or head.pipeline_ref in self._refused:
            return
        if services.scatters.running(head.run_id):
            return  # this node drives (or helps) it already
        from flowstone._jobs.reference import resolve_reference  # noqa: PLC0415

        try:
            pipeline = resolve_reference(head.pipeline_ref, self._allowed)
            asset = pipeline.get(head.asset)
        except Exception as exc:  # noqa: BLE001 - not ours to import: never asked again
            self._refused.add(head.pipeline_ref)
            log.info("scatter.help_refused", reference=head.pipeline_ref, error=str(exc))
            return
        scatter = asset.options.scatter
        if scatter is None:
            return
        partition = partitions.deserialize(head.partition_key)
        deps: dict[str, Any] = {}
        for dep in asset.params:
            io = services.resolve_io(pipeline.get(dep).options.io)
            try:
                deps[dep] = io.load(AssetKey(pipeline.name, dep, head.partition_key))
            except KeyError:
                return  # its dependencies are not where this node can read them
        stopping = services.scatters.register(head.run_id)
        holder = f"{services.node_id}:help-{uuid.uuid4().hex[:8]}"
        bound = log.bind(run_id=head.run_id, asset=asset.name, partition=head.partition_key, helper=True)
        work = UnitWork(
            barrier=self._barrier,
            pipeline=pipeline.name,
            asset=asset,
            run_id=head.run_id,
            partition=partition,
            deps=deps,
            retry=asset.options.retry or services.default_retry,
            holder=holder,
            events=services.events,
            log=bound,
            resources=services.resources,
            batched=scatter.batch is not None,
            total=head.total,
            stopping=stopping,
            clock=time.time,
        )
        plan = Dispatch(
            barrier=self._barrier,
            run_id=head.run_id,
            asset=asset.name,
            holder=holder,
            workers=min(scatter.max_concurrent or services.scatter_workers, services.scatter_workers),
            max_concurrent=scatter.max_concurrent,
            rate=scatter.rate,
            stopping=stopping,
            clock=time.time,
            lease=services.scatter_lease,
            helping=True,
            label="scatter-help",
        )
        with self._lock:
            self._current = stopping
            if self._stopping.is_set():
                stopping.set()
        try:
            bound.info("scatter.helping")
            dispatch(plan, lambda unit: run_unit(work, unit), lambda ended: record(work, ended))
            if not stopping.is_set():  # it may have run the last key: then the scatter resumes
                settle(services.waits, self._barrier, head.run_id, asset.name, cancelled=False)
        finally:
            if stopping.is_set():
                self._barrier.release(head.run_id, asset.name, holder)
            services.scatters.unregister(head.run_id, stopping)
            with self._lock:
                self._current = None


def helper_for(config: Any, services: Services, queues: Any) -> Helper | None:
    """The help of a node that works queues on a database; None otherwise."""
    barrier: ScatterBarrier | None = getattr(services.store, "barrier", None)
    if not queues or barrier is None or config.database_url is None:
        return None
    return Helper(services, barrier, allowed=config.allow_imports)
