"""One attempt at one asset: the user-code boundary.

This is the only place that calls asset functions. It records the attempt, loads the
dependencies, calls the function, stores the value, records lineage and the outcome,
and turns every failure (``BaseException`` included) into an ``Outcome``: an asset that
raises fails only its own materialization, never the runner that drives it (runner.py).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pykka import ActorDeadError

from flowstone import partitions
from flowstone._context import Context
from flowstone._execution.failures import materialization_error
from flowstone._execution.loading import load_dependencies
from flowstone._execution.task import Outcome, Task
from flowstone._execution.tasklog import TaskLog
from flowstone._jobs.records import Discard, Snooze
from flowstone._node.lineage import RecordLineage
from flowstone._node.services import Services
from flowstone._resources import required_resources
from flowstone._store.records import Completion, Failure
from flowstone._tags import EMPTY
from flowstone._waits.suspend import suspend, undefer
from flowstone._waits.suspension import Suspension
from flowstone.errors import (
    DependencyNotReadyError,
    EncodeError,
    LineageError,
    ResourceUnavailableError,
    ScatterCancelledError,
    WaitCancelledError,
    WaitEndedError,
)
from flowstone.events import (
    MaterializationFailed,
    MaterializationFinished,
    MaterializationStarted,
    RetryScheduled,
)
from supervisors._log import get_logger

__all__ = ["attempt", "record_failure"]

log = get_logger("flowstone")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def attempt(task: Task, services: Services) -> Outcome:
    """Run one attempt of ``task``; never raises for anything the asset or the store does."""
    asset = task.asset
    bound = TaskLog(
        log,
        {
            "run_id": task.run_id,
            "asset": asset.name,
            "partition": task.partition_key,
            "attempt": task.attempt,
        },
    )
    try:
        if not (task.premarked or task.deferred):
            services.store.mark_running(
                task.pipeline, asset.name, task.partition_key, task.run_id, task.attempt, _now()
            )
    except Exception as exc:  # noqa: BLE001 - the user-code boundary: becomes an Outcome
        return _failed(task, services, exc, bound, retryable=True)
    bound.debug("asset.attempt_started")
    if services.events.active:
        services.events.emit(
            MaterializationStarted(
                task.pipeline, asset.name, task.partition, task.run_id, task.attempt, _tags(task)
            )
        )
    started = time.perf_counter()
    prepared = _prepare(task, services, bound)
    if isinstance(prepared, Outcome):
        return prepared
    kwargs, resources = prepared
    ctx = Context(
        task.run_id,
        asset.name,
        task.partition,
        task.attempt,
        task.pipeline,
        bound,
        resources,
        tags=_tags(task),
        _waits=services.waits,
        _reserve=services.reserve,
    )
    original = task
    try:
        if task.resume is None:
            value = asset.kind.call(task, services, ctx, kwargs)
        else:
            value = task.resume.call(asset, ctx, kwargs)
        while isinstance(value, Suspension):  # a durable wait: the one hook for every kind
            if task.deferred:  # a run recorded after it ends is recorded now: it waits
                task = undefer(task, services)
            resumption = suspend(task, services, ctx, value)
            if resumption is None:
                bound.info("asset.waiting")
                return Outcome(original, ok=False, suspended=True)
            value = resumption.call(asset, ctx, kwargs)  # resolved before it suspended
    except BaseException as exc:  # noqa: BLE001 - the user-code boundary: becomes an Outcome
        # Snooze and Discard steer the job around the run, and a wait that ended (or an
        # error the asset's kind says decided the outcome: a scatter's, a router's) decided
        # it: never retried.
        retryable = not isinstance(exc, Snooze | Discard | WaitEndedError) and not asset.kind.decided(exc)
        return _answer(original, _failed(task, services, exc, bound, retryable=retryable))
    return _answer(original, _store(task, services, value, started, bound))


def _prepare(task: Task, services: Services, bound: Any) -> tuple[dict[str, Any], Any] | Outcome:
    """The dependencies and resources of an attempt, or the outcome that ends it: a
    failure, or "wait" when it reached its first line too late for its rate (_admission)."""
    try:
        kwargs = load_dependencies(task)
        resources = required_resources(task.asset.name, task.asset.options.requires, services.resources)
    except (DependencyNotReadyError, ResourceUnavailableError) as exc:
        return _failed(task, services, exc, bound, retryable=False)
    except Exception as exc:  # noqa: BLE001 - the user-code boundary: becomes an Outcome
        return _failed(task, services, exc, bound, retryable=True)
    if (wait := services.admission.start(task)) is not None:
        return Outcome(task, ok=False, wait_in=wait)
    return kwargs, resources


def _answer(original: Task, outcome: Outcome) -> Outcome:
    """The outcome as its scheduler knows the task (a task that waited was recorded anew)."""
    return outcome if outcome.task is original else dataclasses.replace(outcome, task=original)


def _store(task: Task, services: Services, value: Any, started: float, bound: Any) -> Outcome:
    asset = task.asset
    if task.abandoned.is_set():
        return Outcome(task, ok=False, error=TimeoutError("abandoned after a timeout"))
    upstream = _upstream(task)
    # A store that keeps lineage itself writes it with the completion: one transaction,
    # both or neither. A separate lineage store goes through the lineage actor.
    inline = services.lineage_store is services.store
    if upstream and not inline and services.lineage_failure == "fail":
        try:
            _record_lineage(task, services, upstream, wait=True)
        except LineageError as exc:
            return _failed(task, services, exc, bound, retryable=False)
    duration_ms = (time.perf_counter() - started) * 1000
    done = Completion(
        pipeline=task.pipeline,
        asset=asset.name,
        partition_key=task.partition_key,
        run_id=task.run_id,
        attempts=task.attempt,
        at=_now(),
        duration_ms=duration_ms,
        finishes_run=task.is_target,
        actor=services.node_id,
        then_running=task.then_running,
        lineage=upstream if inline else (),
        fence=task.fence,
        code_version=asset.version,
        tags=_tags(task),
    )
    try:
        # Values kept in the database are encoded once: for the store, and for dependants
        # in this run, which decode the same bytes instead of reading them back.
        encode = getattr(task.io, "encode", None) if hasattr(task.io, "decode") else None
        payload = encode(value) if encode is not None else None
        if task.deferred:  # its scheduler records it: store the value unless the store will
            if payload is None or not services.store.holds(task.io):
                task.io.store(task.key, value)
            finished = True
        else:
            finished = services.store.complete(done, task.io, value, payload)
    except EncodeError as exc:
        where = None if task.partition is None else partitions.describe(task.partition)
        error = exc.with_context(asset=asset.name, partition=where)
        return _failed(task, services, error, bound, retryable=False)
    except Exception as exc:  # noqa: BLE001 - the user-code boundary: becomes an Outcome
        return _failed(task, services, exc, bound, retryable=True)
    if not finished:
        # Timed out (already recorded failed: this changes nothing), or a job that is no
        # longer this node's: its run and record are closed as failed, not left running.
        refused = TimeoutError(
            "finished after its run gave up on it (a timeout), or its job is no longer this "
            "node's (cancelled, or rescued after a missed heartbeat); the completion was not recorded"
        )
        record_failure(task, services, refused)
        return Outcome(task, ok=False, error=refused)
    if upstream and not inline and services.lineage_failure == "log":
        _record_lineage(task, services, upstream, wait=False)
    if bound.enabled(logging.INFO):  # its fields built only for an event that is logged
        bound.info("asset.materialized", duration_ms=round(duration_ms, 3))
    if services.events.active and not task.deferred:  # a deferred one's, once recorded
        services.events.emit(
            MaterializationFinished(
                task.pipeline, asset.name, task.partition, task.run_id, task.attempt, duration_ms, _tags(task)
            )
        )
    # Recorded or not, its scheduler sizes its chunks by the completion's duration.
    return Outcome(task, ok=True, value=value, payload=payload, completion=done)


def _upstream(task: Task) -> list[tuple[str, str]]:
    """The (asset, partition key) values the attempt read: its lineage."""
    absent, mapped, key = task.absent, task.mapped, task.partition_key
    if not absent and not mapped:  # most tasks: every dependency read plainly, no test per one
        return [(dep, key) for dep in task.asset.deps]
    upstream = [
        (dep, key)
        for dep in task.asset.deps
        if (not absent or dep not in absent) and (not mapped or dep not in mapped)
    ]
    return upstream + task.reads  # exactly the partitions read through a mapping


def _tags(task: Task) -> Mapping[str, str]:
    """The tags of the task's run (read-only; the shared empty mapping when none)."""
    return EMPTY if task.run is None or not task.run.tags else task.run.tags


def _record_lineage(task: Task, services: Services, upstream: list[tuple[str, str]], *, wait: bool) -> None:
    lineage = services.directory.lookup("lineage")
    message = RecordLineage(
        task.pipeline, task.run_id, task.asset.name, task.partition_key, tuple(upstream), wait
    )
    try:
        if lineage is None:
            raise ActorDeadError("the lineage actor is not running")
        if wait:
            lineage.ask(message)
        else:
            lineage.tell(message)
    except ActorDeadError as exc:
        if wait:
            raise LineageError(
                f"asset {task.asset.name!r}: lineage not recorded: {exc}",
                asset=task.asset.name,
                partition=task.partition,
                run_id=task.run_id,
            ) from exc
        log.error("lineage.record_failed", run_id=task.run_id, asset=task.asset.name, cause=str(exc))


def _failed(task: Task, services: Services, exc: BaseException, bound: Any, *, retryable: bool) -> Outcome:
    asset = task.asset
    if retryable and task.attempt < task.retry.max_attempts:
        delay = task.retry.delay(task.attempt)
        bound.warning("asset.retry_scheduled", delay=round(delay, 3), error=_describe(exc))
        if services.events.active:
            services.events.emit(
                RetryScheduled(
                    task.pipeline,
                    asset.name,
                    task.partition,
                    task.run_id,
                    task.attempt,
                    delay,
                    _describe(exc),
                )
            )
        return Outcome(task, ok=False, error=exc, retry_in=delay)
    failure = record_failure(task, services, exc)
    bound.error("asset.failed", attempts=task.attempt, error=_describe(exc))
    if services.events.active and failure is None:  # a deferred one's, once recorded
        services.events.emit(
            MaterializationFailed(
                task.pipeline,
                asset.name,
                task.partition,
                task.run_id,
                task.attempt,
                _describe(exc),
                _tags(task),
            )
        )
    return Outcome(task, ok=False, error=materialization_error(task, exc), failure=failure)


def record_failure(task: Task, services: Services, cause: BaseException) -> Failure | None:
    """Mark the materialization and its run failed; a store that is down is logged, not raised.

    A deferred task's failure is returned instead, for its scheduler to record.
    """
    failure = Failure(
        pipeline=task.pipeline,
        asset=task.asset.name,
        partition_key=task.partition_key,
        run_id=task.run_id,
        attempts=task.attempt,
        at=_now(),
        error=_describe(cause),
        actor=services.node_id,
        status="cancelled" if isinstance(cause, WaitCancelledError | ScatterCancelledError) else "failed",
        tags=_tags(task),
    )
    if task.deferred:
        return failure
    try:
        services.store.fail(failure)
    except Exception as exc:  # noqa: BLE001 - the user-code boundary: becomes an Outcome
        log.error(
            "asset.failure_not_recorded", run_id=task.run_id, asset=task.asset.name, error=_describe(exc)
        )
    return None


def _now() -> datetime:
    return datetime.now(UTC)
