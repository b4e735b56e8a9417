"""Running one claimed job: resolve its pipeline, run the asset once, acknowledge."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flowstone import partitions
from flowstone._execution.run import run_target
from flowstone._execution.tasklog import TaskLog
from flowstone._jobs.claimed import ClaimedJob
from flowstone._jobs.records import Discard, Snooze
from flowstone._jobs.table import JobTable
from flowstone._node.services import Services
from flowstone._parallel.jobs import BRANCH_OPTION, branch_job_ended
from flowstone._pipeline import Pipeline
from flowstone._resources import check_requires
from flowstone._retry import Retry
from flowstone._store.records import WholeRun
from flowstone.errors import FlowStoneError, MaterializationError, StoreUnavailableError
from supervisors._log import get_logger

__all__ = ["JobEnv", "Outcome", "PendingAck", "execute_job"]

log = get_logger("flowstone")

Outcome = Literal["completed", "retryable", "discarded", "snoozed", "waiting", "lost"]
_ONCE = Retry(max_attempts=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobEnv:
    """What a job needs from its node."""

    node_id: str
    table: JobTable
    services: Services
    resolve: Callable[[str], Pipeline]
    #: The registry's live pipeline for a reference, if it knows one: no import, no
    #: registration (``QueueProducer`` asks it once per reference, not once per job).
    lookup: Callable[[str], weakref.ReferenceType[Pipeline] | None]
    finished: threading.Condition  # notified after every acknowledgement
    shutdown_grace: float


@dataclass(frozen=True, slots=True)
class PendingAck:
    """A job that succeeded, with its run: both still to record, in one transaction with
    other jobs' (``JobTable.complete_runs``), fenced on this attempt and node."""

    job: ClaimedJob
    run: WholeRun


def execute_job(
    job: ClaimedJob,
    env: JobEnv,
    defer: Callable[[PendingAck], None] | None = None,
    known: weakref.ReferenceType[Pipeline] | None = None,
) -> Outcome:
    """Run ``job`` once and record the outcome (fenced on this attempt and node).

    With ``defer``, a job whose run is its target alone hands its success to ``defer``
    instead of recording it: its queue records it with others (group commit). ``known``
    is the job's pipeline as its producer found it in the registry; without it (or
    collected since) the pipeline is resolved here (``JobEnv.resolve``).
    """
    fields = {"job_id": job.id, "queue": job.queue, "asset": job.asset, "partition": job.partition_key}
    bound = TaskLog(log, {**fields, "attempt": job.attempt})  # bound once an event is let through
    branch = BRANCH_OPTION in job.options  # a parallel asset's branch (flowstone/_parallel/jobs.py)
    try:
        # A branch's value must be stored when its end is recorded: no group commit for it.
        outcome = _run(job, env, bound, None if branch else defer, known)
        if branch:
            branch_job_ended(job, env, outcome)
    finally:
        with env.finished:
            env.finished.notify_all()
    return outcome


def _run(
    job: ClaimedJob,
    env: JobEnv,
    bound: TaskLog,
    defer: Callable[[PendingAck], None] | None,
    known: weakref.ReferenceType[Pipeline] | None = None,
) -> Outcome:
    # Whatever the row holds, the job ends: what cannot be read or resolved is discarded
    # with the reason recorded (retrying would not change the row); anything else that
    # goes wrong is a failed attempt, retried like the asset's own failures.
    if job.defect is not None:
        bound.error("job.unreadable", error=job.defect)
        return _acked(env.table.fail(job, env.node_id, job.defect, None), "discarded")
    try:
        retry, force = job.retry, job.force  # checked when claimed; a job built by hand may not be
    except ValueError as exc:
        error = f"job {job.id} cannot be run: {exc}"
        bound.error("job.unreadable", error=error)
        return _acked(env.table.fail(job, env.node_id, error, None), "discarded")
    try:
        pipeline = known() if known is not None else None
        if pipeline is None:
            pipeline = env.resolve(job.pipeline_ref)
        # As node.run does: a resource this worker was not started with is a definition
        # error (discarded, naming it), not a failure retried until the attempts run out.
        check_requires(pipeline, env.services.resources, remember=True)
        partition = partitions.deserialize(job.partition_key)
    except Exception as exc:  # noqa: BLE001 - FlowStoneError, or a resolver bug: never left executing
        error = str(exc) if isinstance(exc, FlowStoneError) else f"{type(exc).__name__}: {exc}"
        bound.error("job.unresolvable", error=error)
        return _acked(env.table.fail(job, env.node_id, error, None), "discarded")
    ack = _AckWithTarget(env.table, job, env.node_id)
    try:
        result = run_target(
            pipeline,
            job.asset,
            partition,
            env.services,
            force=force,
            retry=_ONCE,  # the target's attempts are the job's; upstream assets keep their own
            first_attempt=job.attempt,
            target_fence=ack,
            target_done=job.target_done,
            deferred=defer is not None,
            job_id=job.id,
            tags=job.tags,
            inline=True,  # the worker's thread runs a lone task itself: no hop to a runner
        )
    except MaterializationError as exc:
        upstream = None if exc.asset == job.asset else (exc.asset, exc.attempts)
        return _failed(job, env, exc.__cause__ or exc, retry, bound, upstream)
    except StoreUnavailableError as exc:
        return _failed(job, env, exc, retry, bound)
    except FlowStoneError as exc:  # the asset or partition no longer fits the pipeline: not retryable
        bound.error("job.invalid", error=str(exc))
        return _acked(env.table.fail(job, env.node_id, f"{type(exc).__name__}: {exc}", None), "discarded")
    except Exception as exc:  # noqa: BLE001 - not the asset's (that is MaterializationError): retried
        return _failed(job, env, exc, retry, bound)
    if result.waiting:
        assert result.run_id is not None
        bound.info("job.waiting", run_id=result.run_id)
        return _acked(env.table.wait(job, env.node_id, result.run_id), "waiting")
    bound.info("job.completed", run_id=result.run_id)
    if result.ended is not None and defer is not None:
        defer(PendingAck(job, result.ended))
        return "completed"  # once its queue has recorded it
    if ack.applied and result.run_id is not None:
        return "completed"  # acknowledged in the target's completion transaction
    return _acked(env.table.complete(job, env.node_id, result.run_id), "completed")


class _AckWithTarget:
    """Completes the job in the transaction that records its target materialized: the
    job and its materialization are completed together or not at all, in one commit."""

    def __init__(self, table: JobTable, job: ClaimedJob, node_id: str) -> None:
        self._table = table
        self._job = job
        self._node_id = node_id
        self.applied = False

    def __call__(self, connection: Any, run_id: str) -> bool:
        self.applied = self._table.complete_in(connection, self._job, self._node_id, run_id)
        return self.applied


def _failed(
    job: ClaimedJob,
    env: JobEnv,
    cause: BaseException,
    retry: Retry,
    bound: TaskLog,
    upstream: tuple[str, int] | None = None,
) -> Outcome:
    """``upstream`` is (asset, attempts) when an asset the target needs failed, after
    the attempts its own policy gave it; the job's retry is for what those did not absorb."""
    if isinstance(cause, Snooze):
        bound.info("job.snoozed", seconds=cause.seconds)
        return _acked(env.table.snooze(job, env.node_id, cause.seconds), "snoozed")
    error = f"{type(cause).__name__}: {cause}"
    if upstream is not None:
        error = f"upstream asset {upstream[0]!r} failed after {upstream[1]} attempt(s): {error}"
    if isinstance(cause, Discard):
        bound.warning("job.discarded", reason=cause.reason)
        return _acked(env.table.fail(job, env.node_id, error, None), "discarded")
    if job.attempt < job.max_attempts:
        delay = retry.delay(job.attempt)
        bound.warning("job.retry_scheduled", delay=round(delay, 3), error=error)
        return _acked(env.table.fail(job, env.node_id, error, delay), "retryable")
    bound.error("job.discarded", error=error, attempts=job.attempt)
    return _acked(env.table.fail(job, env.node_id, error, None), "discarded")


def _acked(applied: bool, outcome: Outcome) -> Outcome:
    # A rejected acknowledgement means the job was cancelled or rescued meanwhile.
    return outcome if applied else "lost"
