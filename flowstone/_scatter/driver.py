"""A scatter asset's attempt: write its keys, then wait on its barrier.

This is the scatter's kind of asset (``flowstone/_execution/kinds.py``): the runner calls
it in place of the asset's function. It writes the keys, hands them to the node's
``scatters`` child and returns a ``ScatterWait`` (``wait.py``): the runner is free while
the keys run, and the run resumes to gather once the last key has ended. A run that
cannot wait (recorded only after it ends) runs its keys within its attempt instead.

A run that finds an open scatter of the same asset and partition (its node died
mid-scatter, and the job runs again under a new run id) adopts its barrier: keys
finished are not run again, and it gathers once, the head's move from ``open`` to
``gathering`` being taken by one worker only.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError

from flowstone._scatter.actor import Drive
from flowstone._scatter.dispatch import Dispatch, dispatch
from flowstone._scatter.expand import Expansion, expand
from flowstone._scatter.gather import Gathering, barrier_of, gather
from flowstone._scatter.options import Scatter
from flowstone._scatter.units import UnitWork, record, run_unit
from flowstone._scatter.wait import ScatterWait, settle
from flowstone._store.barrier import ScatterBarrier
from flowstone.errors import ScatterCancelledError, ScatterError, ScatterKeyError
from flowstone.events import ScatterStarted
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._context import Context
    from flowstone._execution.task import Task
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["ScatterBody", "barrier_of"]

log = get_logger("flowstone")


class ScatterBody:
    """The ``AssetKind`` of an asset with ``scatter=``: ``call`` in place of its function."""

    label = "scatter"
    rules_out = False
    cleans_up = False

    def __init__(self, scatter: Scatter) -> None:
        self.scatter = scatter

    def attempt_timeout(self, timeout: float | None) -> float | None:
        """The asset's timeout bounds each key, not the whole scatter."""
        return None

    def not_run(self, pipeline: Pipeline, asset: str, value: Any) -> tuple[str, ...]:
        return ()

    def run_ended(self, services: Services, run_id: str) -> None:
        return None

    def decided(self, exc: BaseException) -> bool:
        """Errors that decided the outcome: retrying the whole asset would not change it."""
        return isinstance(exc, ScatterError | ScatterKeyError | ScatterCancelledError)

    def call(self, task: Task, services: Services, ctx: Context, deps: Mapping[str, Any]) -> Any:
        scatter = self.scatter
        asset = task.asset
        barrier = barrier_of(services)
        head = barrier.find_open(task.pipeline, asset.name, task.partition_key)
        if head is None:
            head = barrier.begin(task.pipeline, task.run_id, asset.name, task.partition_key, _reference(task))
        run_id = head.run_id  # the crashed run's, when adopted
        if head.state == "open":
            limit = scatter.max_key_bytes or services.max_scatter_key_bytes
            total = expand(scatter, Expansion(barrier, run_id, asset.name, limit), head, ctx, deps)
            adopted_from = run_id if run_id != task.run_id else None
            ctx.log.info("scatter.started", total=total, adopted_from=adopted_from)
            if services.events.active:
                services.events.emit(ScatterStarted(task.pipeline, asset.name, task.partition, run_id, total))
            runner = services.directory.lookup("scatters")
            if runner is not None and _can_wait(task, services):
                # Suspend on the barrier: no runner is held while the keys run.
                stopping = services.scatters.register(run_id)
                body = self._body(task, services, ctx, deps, barrier, run_id, total, stopping)
                return ScatterWait(run_id, lambda: _hand_over(runner, asset.name, body, stopping))
            self._inline(task, services, ctx, deps, barrier, run_id, total)
        return gather(Gathering(services, asset, ctx, run_id), cancelled=False)

    def _inline(
        self,
        task: Task,
        services: Services,
        ctx: Context,
        deps: Mapping[str, Any],
        barrier: ScatterBarrier,
        run_id: str,
        total: int,
    ) -> None:
        """A run that cannot wait (recorded only after it ends) runs its keys in its attempt."""
        stopping = services.scatters.register(task.run_id)
        adopted = services.scatters.register(run_id) if run_id != task.run_id else None
        try:
            with _Waiting(task, services):
                self._run_units(task, services, ctx, deps, barrier, run_id, total, stopping)
                if adopted is not None and adopted.is_set():
                    stopping.set()
            if stopping.is_set():
                gather(Gathering(services, task.asset, ctx, run_id), cancelled=True)
        finally:
            services.scatters.unregister(task.run_id, stopping)
            if adopted is not None:
                services.scatters.unregister(run_id, adopted)

    def _body(
        self,
        task: Task,
        services: Services,
        ctx: Context,
        deps: Mapping[str, Any],
        barrier: ScatterBarrier,
        run_id: str,
        total: int,
        stopping: threading.Event,
    ) -> Callable[[threading.Event], None]:
        """What the ``scatters`` child runs: the keys, then the wait settled (resolved when
        every key has ended or on ``node.cancel``; left open when the node stops)."""
        name = task.asset.name

        def body(halting: threading.Event) -> None:
            try:
                self._run_units(task, services, ctx, deps, barrier, run_id, total, stopping)
            finally:
                services.scatters.unregister(run_id, stopping)
            cancelled = stopping.is_set() and not halting.is_set()
            settle(services.waits, barrier, run_id, name, cancelled=cancelled)

        return body

    def _run_units(
        self,
        task: Task,
        services: Services,
        ctx: Context,
        deps: Mapping[str, Any],
        barrier: ScatterBarrier,
        run_id: str,
        total: int,
        stopping: Any,
    ) -> None:
        scatter = self.scatter
        asset = task.asset
        holder = f"{services.node_id}:{uuid.uuid4().hex[:8]}"
        work = UnitWork(
            barrier=barrier,
            pipeline=task.pipeline,
            asset=asset,
            run_id=run_id,
            partition=task.partition,
            deps=deps,
            retry=asset.options.retry or services.default_retry,
            holder=holder,
            events=services.events,
            log=ctx.log,
            resources=ctx.resources,  # what the asset requires (docs/resources.md)
            batched=scatter.batch is not None,
            total=total,
            stopping=stopping,
            clock=time.time,
        )
        workers = min(
            scatter.max_concurrent or services.scatter_workers, services.scatter_workers, max(total, 1)
        )
        plan = Dispatch(
            barrier=barrier,
            run_id=run_id,
            asset=asset.name,
            holder=holder,
            workers=workers,
            max_concurrent=scatter.max_concurrent,
            rate=scatter.rate,
            stopping=stopping,
            clock=time.time,
            lease=services.scatter_lease,
        )
        dispatch(plan, lambda unit: run_unit(work, unit), lambda ended: record(work, ended))
        if stopping.is_set():
            barrier.release(run_id, asset.name, holder)


def _reference(task: Task) -> str | None:
    """How another worker imports the pipeline to help with its keys (None if it cannot)."""
    pipeline = None if task.run is None else getattr(task.run, "pipeline", None)
    if pipeline is None:
        return None
    from flowstone._jobs.reference import reference_of  # noqa: PLC0415

    try:
        return reference_of(pipeline)
    except Exception:  # noqa: BLE001 - a pipeline defined in a script: no one else can help
        return None


def _can_wait(task: Task, services: Services) -> bool:
    """Whether the run can suspend (a one-asset run recorded after it ends must have its
    start to record; ``backfill`` without ``durable`` has none)."""
    if services.waits is None:
        return False
    return not task.deferred or (task.run is not None and task.run.start is not None)


def _hand_over(
    runner: Any, name: str, body: Callable[[threading.Event], None], stopping: threading.Event
) -> None:
    """Give the keys to the ``scatters`` child; run them here if it has just stopped."""
    try:
        runner.tell(Drive(name, body, stopping))
    except ActorDeadError:
        body(threading.Event())


class _Waiting:
    """The asset's record is ``waiting`` while its keys run (``node.status``), and
    ``running`` again for its gather, so that it completes or fails as any asset does."""

    def __init__(self, task: Task, services: Services) -> None:
        self._task = task
        self._store = services.store
        self._suspended = False

    def __enter__(self) -> None:
        task = self._task
        suspend = getattr(self._store, "suspend", None)
        if suspend is not None and not task.deferred:
            self._suspended = bool(
                suspend(task.pipeline, task.asset.name, task.partition_key, task.run_id, datetime.now(UTC))
            )

    def __exit__(self, *exc_info: object) -> None:
        if not self._suspended:
            return
        task = self._task
        with contextlib.suppress(Exception):  # a store that is down: the completion says so
            self._store.mark_running(
                task.pipeline,
                task.asset.name,
                task.partition_key,
                task.run_id,
                task.attempt,
                datetime.now(UTC),
            )
            self._store.run_resumed(task.run_id)
