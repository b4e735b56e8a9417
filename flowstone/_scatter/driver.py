"""A scatter asset's attempt: write its keys, run them, gather their results.

This is the scatter's kind of asset (``flowstone/_execution/kinds.py``): the runner calls
it in place of the asset's function. A run that finds an open scatter of the same asset and
partition (its node died mid-scatter, and the job runs again under a new run id) adopts
its barrier: keys finished are not run again, and it gathers once, the head's move from
``open`` to ``gathering`` being taken by one worker only.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowstone._scatter.dispatch import POLL, Dispatch, dispatch
from flowstone._scatter.expand import Expansion, expand
from flowstone._scatter.options import Scatter
from flowstone._scatter.results import Results, check_tolerance
from flowstone._scatter.units import UnitWork, record, run_unit
from flowstone._store.barrier import ScatterBarrier
from flowstone._store.records import AuditEntry
from flowstone.errors import ScatterCancelledError, ScatterError, ScatterKeyError
from flowstone.events import ScatterGathered, ScatterStarted
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._context import Context
    from flowstone._execution.task import Task
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["ScatterBody", "barrier_of"]

log = get_logger("flowstone")


def barrier_of(services: Services) -> ScatterBarrier:
    """The store's barrier (a custom store without one gets the node's in memory)."""
    barrier: ScatterBarrier | None = getattr(services.store, "barrier", None)
    return services.scatter_barrier if barrier is None else barrier


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
        stopping = services.scatters.register(task.run_id)
        if run_id != task.run_id:
            adopted = services.scatters.register(run_id)
        try:
            if head.state == "open":
                limit = scatter.max_key_bytes or services.max_scatter_key_bytes
                total = expand(scatter, Expansion(barrier, run_id, asset.name, limit), head, ctx, deps)
                ctx.log.info(
                    "scatter.started", total=total, adopted_from=run_id if run_id != task.run_id else None
                )
                if services.events.active:
                    services.events.emit(
                        ScatterStarted(task.pipeline, asset.name, task.partition, run_id, total)
                    )
                with _Waiting(task, services):
                    self._run_units(task, services, ctx, deps, barrier, run_id, total, stopping)
            return self._gather(task, services, ctx, barrier, run_id, stopping)
        finally:
            services.scatters.unregister(task.run_id, stopping)
            if run_id != task.run_id:
                services.scatters.unregister(run_id, adopted)

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
            resources=services.resources,
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

    def _gather(
        self,
        task: Task,
        services: Services,
        ctx: Context,
        barrier: ScatterBarrier,
        run_id: str,
        stopping: Any,
    ) -> Any:
        scatter = self.scatter
        name = task.asset.name
        head = barrier.head(run_id, name)
        if stopping.is_set() or (head is not None and head.state == "cancelled"):
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
            return self._gathered_elsewhere(task, barrier, run_id)
        results = Results(barrier, run_id, name, done=progress.done)
        value = scatter.gather(ctx, results) if scatter.gather is not None else list(results.values())
        barrier.finish(run_id, name, from_states=["gathering"], to="gathered")
        ctx.log.info("scatter.gathered", done=progress.done, failed=progress.failed)
        _record_gather(task, services, run_id, total, progress.done, progress.failed)
        if services.events.active:
            services.events.emit(
                ScatterGathered(task.pipeline, name, task.partition, run_id, progress.done, progress.failed)
            )
        return value

    def _gathered_elsewhere(self, task: Task, barrier: ScatterBarrier, run_id: str) -> Any:
        """Another process sharing the scatter gathers it: wait for its value (a bounded
        poll: only the database says when) rather than gathering twice."""
        name = task.asset.name
        while (head := barrier.head(run_id, name)) is not None and head.state == "gathering":
            time.sleep(POLL)
        if head is None or head.state != "gathered":
            raise ScatterError(
                f"asset {name!r} (run {run_id}): the process gathering this scatter ended it as "
                f"{None if head is None else head.state!r}; run the asset again",
                asset=name,
                run_id=run_id,
                total=0,
                failed=0,
                tolerate=self.scatter.tolerate,
            )
        deadline = time.monotonic() + 30.0
        while True:  # its value is committed just after the head says gathered
            try:
                return task.io.load(task.key)
            except KeyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(POLL)


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


def _record_gather(task: Task, services: Services, run_id: str, total: int, done: int, failed: int) -> None:
    """The gathered value's provenance: which scatter (run id, whose barrier holds the keys
    and their results) and how many keys, in the audit log next to the run's lineage."""
    entry = AuditEntry(
        datetime.now(UTC),
        "scatter.gathered",
        services.node_id,
        f"{task.pipeline}/{task.asset.name}/{task.partition_key}",
        "gather",
        {"run_id": task.run_id, "scatter_run_id": run_id, "total": total, "done": done, "failed": failed},
    )
    try:
        services.store.audit(entry)
    except Exception as exc:  # noqa: BLE001 - provenance is logged, never fails the gather
        log.warning("scatter.audit_failed", asset=task.asset.name, run_id=task.run_id, error=str(exc))


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
