"""One run: plan a target asset for one partition and drive it to completion."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowstone import partitions
from flowstone._execution.loading import load_value
from flowstone._execution.mapped import ensure_upstream
from flowstone._execution.plan import plan_run
from flowstone._execution.recording import emit_recorded
from flowstone._execution.scheduler import PartitionRun, Scheduler
from flowstone._execution.tasklog import TaskLog
from flowstone._ids import new_id
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone._retry import Retry
from flowstone._store.records import CompletionFence, RunStart, WholeRun
from flowstone.errors import DependencyNotReadyError, FlowStoneError
from supervisors._log import get_logger

__all__ = ["RunResult", "load_value", "record_unstarted", "run_target", "within_run"]

log = get_logger("flowstone")


@dataclass(frozen=True, slots=True)
class RunResult:
    """The target's value; ``run_id`` is None when a stored value was reused.

    ``ended`` is the whole run still to record, for a run asked to be ``deferred``.
    """

    value: Any
    run_id: str | None
    ended: WholeRun | None = None
    waiting: bool = False  # the run is parked on a durable wait; ``value`` is not set


def run_target(
    pipeline: Pipeline,
    asset: str,
    partition: partitions.Partition,
    services: Services,
    *,
    force: bool = False,
    with_deps: bool = True,
    timeout: float | None = None,
    retry: Retry | None = None,
    first_attempt: int = 1,
    target_fence: CompletionFence | None = None,
    target_done: bool | None = None,
    deferred: bool = False,
    run_id: str | None = None,
    job_id: int | None = None,
    tags: Mapping[str, str] | None = None,
    within: str | None = None,
    inline: bool = False,
) -> RunResult:
    """Materialize ``asset`` and what it needs for ``partition``; raise on failure.

    With ``deferred``, a run of the target alone records nothing while it runs, and a
    success is returned with the whole run (``RunResult.ended``) for the caller to
    record, with others (``Store.record_runs``); a failure is recorded before raising.
    A run of more assets is recorded as it goes, as without ``deferred``. ``run_id``
    names the run (one is made up without it), for callers that announced it already.

    Upstream partitions that the plan reads through partition mappings and that are
    missing are materialized first, in the same run: their records, lineage and events
    carry its run id. ``within`` is that outer run's id, for such an upstream run (it
    records no run row and no start of its own, and its target does not end the run).
    With ``inline``, a lone task may run on the calling thread (``Scheduler(inline=)``).
    """
    definition = pipeline.get(asset)
    key = partitions.serialize(partition)
    definition.check_partition(pipeline.name, partition)
    if target_done is False and not definition.deps:
        done: set[str] = set()  # a job's claim looked: not done, and nothing else to ask about
    else:
        done = services.done_assets(pipeline, key, pipeline.closure(asset))
    plan = plan_run(pipeline, asset, partition, force=force, with_deps=with_deps, is_done=done.__contains__)
    if not plan:
        return RunResult(load_value(services, pipeline, asset, partition), None)
    run_id = within or run_id or new_id()
    try:
        ensure_upstream(
            pipeline, plan, partition, services, run_upstream=within_run(run_id, tags), materialize=with_deps
        )
    except FlowStoneError as exc:
        if within is None and not isinstance(exc, DependencyNotReadyError):
            record_unstarted(pipeline, asset, key, plan, run_id, services, tags, exc)
        raise
    deadline = None if timeout is None else time.monotonic() + timeout
    run = PartitionRun(run_id, partition, key, asset, deadline=deadline, job_id=job_id)
    run.nested = within is not None
    if tags:
        run.tags = tags
    bound = TaskLog(log, {"run_id": run.run_id, "pipeline": pipeline.name, "asset": asset, "partition": key})
    deferred = deferred and len(plan) == 1 and not run.nested  # the caller applies its fence
    scheduler = Scheduler(
        pipeline,
        services,
        retry=retry,
        first_attempt=first_attempt,
        target_fence=None if deferred else target_fence,
        inline=inline,
    )
    scheduler.begin(
        run, plan, {"force": force, "with_deps": with_deps, "timeout": timeout}, deferred=deferred
    )
    bound.info("run.started", assets=len(plan))
    started = time.perf_counter()
    while not run.finished:
        scheduler.wait()
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    if run.error is not None:
        bound.error("run.failed", duration_ms=elapsed_ms, error=f"{type(run.error).__name__}: {run.error}")
        if run.ended is not None:
            try:
                services.store.record_runs([run.ended])
            except Exception as exc:  # noqa: BLE001 - the run's own error is what the caller needs
                bound.error("run.failure_not_recorded", error=f"{type(exc).__name__}: {exc}")
            else:
                emit_recorded(services.events, [run.ended])
        raise run.error
    if run.parked:
        bound.info("run.waiting", duration_ms=elapsed_ms, assets=sorted(run.suspended))
        return RunResult(None, run.run_id, None, waiting=True)
    bound.info("run.finished", duration_ms=elapsed_ms)
    return RunResult(run.value, run.run_id, run.ended)


def within_run(
    run_id: str, tags: Mapping[str, str] | None
) -> Callable[[Pipeline, str, partitions.Partition, Services], object]:
    """How ``ensure_upstream`` runs a missing upstream partition for run ``run_id``: as
    part of that run (``run_target(within=run_id)``), with its tags."""

    def run_upstream(
        pipeline: Pipeline, asset: str, partition: partitions.Partition, services: Services
    ) -> object:
        return run_target(pipeline, asset, partition, services, within=run_id, tags=tags)

    return run_upstream


def record_unstarted(
    pipeline: Pipeline,
    asset: str,
    key: str,
    plan: list[str],
    run_id: str,
    services: Services,
    tags: Mapping[str, str] | None,
    error: BaseException,
) -> None:
    """Record a run that failed before its plan started (an upstream partition it reads
    through a mapping failed, under its id): its row, start and end, its plan's records
    failed, so the audit log and the partition overview show it as failed, not missing.
    A store that cannot record it is logged: the caller raises the run's own error."""
    at = datetime.now(UTC)
    start = RunStart(
        run_id=run_id,
        pipeline=pipeline.name,
        asset=asset,
        partition_key=key,
        plan=plan,
        options={},
        at=at,
        actor=services.node_id,
        tags=tags or {},
    )
    try:
        services.store.start_run(start)
        described = f"{type(error).__name__}: {error}"
        services.store.finish_run(run_id, status="failed", at=at, error=described, actor=services.node_id)
    except Exception as exc:  # noqa: BLE001 - the run's own error is what the caller needs
        log.error("run.failure_not_recorded", run_id=run_id, error=f"{type(exc).__name__}: {exc}")
