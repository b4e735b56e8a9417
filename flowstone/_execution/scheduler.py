"""The scheduler: drives partition runs over the runner pool from the caller's thread.

It keeps the run state of one ``run`` or ``backfill`` call (which assets wait on which,
what is in flight, retries due, deadlines) and nothing else; it is owned by the calling
thread, which blocks on one completion queue. Runners answer on that queue; a runner
that dies mid-task is reported there by a monitor, so a run never hangs.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import supervisors
from flowstone import partitions
from flowstone._execution.runner import materialization_error, record_failure
from flowstone._execution.task import Materialize, Outcome, RunnerDown, Task
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone._retry import Retry
from flowstone._store.records import CompletionFence, Failure, RunStart, WholeRun
from supervisors._log import get_logger

__all__ = ["PartitionRun", "Scheduler"]

log = get_logger("flowstone")

_UNSET: Any = object()


@dataclass(slots=True, eq=False)
class PartitionRun:
    """One target asset for one partition, with the assets it must run first."""

    run_id: str
    partition: partitions.Partition
    partition_key: str
    target: str
    deadline: float | None = None
    waiting: dict[str, int] = field(default_factory=dict)
    remaining: int = 0
    value: Any = _UNSET
    error: BaseException | None = None
    timed_out: bool = False
    finished: bool = False
    premarked: set[str] = field(default_factory=set)  # recorded running by start_run
    # Encoded values for dependants not dispatched yet, and how many of those each awaits.
    payloads: dict[str, bytes | str] = field(default_factory=dict)
    consumers: dict[str, int] = field(default_factory=dict)
    # A deferred run (``Scheduler.begin(deferred=True)``) is not in the store while it
    # runs: ``start`` is its start, and ``ended`` the whole run to record once finished.
    start: RunStart | None = None
    ended: WholeRun | None = None


@dataclass(slots=True, eq=False)
class _InFlight:
    run: PartitionRun
    task: Task
    monitor: supervisors.Monitor
    deadline: float | None


class Scheduler:
    """Dispatches ready assets to idle runners and reacts to their outcomes."""

    def __init__(
        self,
        pipeline: Pipeline,
        services: Services,
        *,
        retry: Retry | None = None,
        first_attempt: int = 1,
        target_fence: CompletionFence | None = None,
    ) -> None:
        """``retry`` overrides every asset's policy (a job retries at the job level, so its
        run tries each asset once); ``first_attempt`` numbers the first try (``ctx.attempt``);
        ``target_fence`` is applied in the transaction that completes a run's target."""
        self._pipeline = pipeline
        self._services = services
        self._retry = retry
        self._first_attempt = first_attempt
        self._target_fence = target_fence
        self._completions: queue.SimpleQueue[Outcome | RunnerDown] = queue.SimpleQueue()
        self._ready: deque[tuple[PartitionRun, str, int]] = deque()
        self._retries: list[tuple[float, int, PartitionRun, str, int]] = []
        self._seq = itertools.count()
        self._in_flight: dict[Task, _InFlight] = {}
        self._runs: set[PartitionRun] = set()
        self._finished: list[PartitionRun] = []

    @property
    def active(self) -> int:
        """Partition runs started and not finished."""
        return len(self._runs)

    def begin(
        self, run: PartitionRun, plan: list[str], options: Mapping[str, Any], *, deferred: bool = False
    ) -> None:
        """Record ``run`` in the store and start it (``plan`` dependencies first).

        ``deferred`` (a one-asset plan) records nothing now: once the run has finished,
        ``run.ended`` holds the whole run for the caller to record (``Store.record_runs``).
        """
        if deferred and (len(plan) != 1 or self._target_fence is not None):
            raise ValueError("only a one-asset run without a fence can be recorded after it ends")
        if self._first_attempt == 1:
            planned = set(plan)
            deps = self._pipeline.deps
            run.premarked = {a for a in plan if not any(d in planned for d in deps[a])}
        start = RunStart(
            run_id=run.run_id,
            pipeline=self._pipeline.name,
            asset=run.target,
            partition_key=run.partition_key,
            plan=plan,
            options=options,
            at=datetime.now(UTC),
            actor=self._services.node_id,
            running=tuple(run.premarked),
        )
        if deferred:
            run.start = start
        else:
            self._services.store.start_run(start)
        self.submit(run, plan)

    def submit(self, run: PartitionRun, plan: list[str]) -> None:
        """Start ``run``, which must materialize ``plan`` (dependencies first)."""
        planned = set(plan)
        deps = self._pipeline.deps
        run.remaining = len(plan)
        self._runs.add(run)
        for asset in plan:
            count = sum(1 for d in deps[asset] if d in planned)
            run.waiting[asset] = count
            if count == 0:
                self._ready.append((run, asset, self._first_attempt))

    def wait(self, timeout: float | None = None) -> list[PartitionRun]:
        """Work until at least one run finishes (or ``timeout``); the runs that finished."""
        stop_at = None if timeout is None else time.monotonic() + timeout
        while not self._finished and self._runs:
            now = time.monotonic()
            self._expire(now)
            self._dispatch(now)
            if self._finished:
                break
            if not self._in_flight and not self._ready and not self._retries:
                self._fail_stuck_runs()
                break
            wake = self._next_wake(now, stop_at)
            if wake is not None and wake <= 0:
                if stop_at is not None and now >= stop_at:
                    break
                continue
            try:
                item = self._completions.get(timeout=wake)
            except queue.Empty:
                continue
            self._handle(item)
            while True:  # take everything already there before dispatching again
                try:
                    item = self._completions.get_nowait()
                except queue.Empty:
                    break
                self._handle(item)
        finished, self._finished = self._finished, []
        return finished

    # --- dispatching ---------------------------------------------------------------
    def _dispatch(self, now: float) -> None:
        pool = self._services.pool
        while self._ready:
            run, asset, attempt = self._ready[0]
            if run.finished:
                self._ready.popleft()
                continue
            runner = pool.try_acquire()
            if runner is None and not self._in_flight:
                runner = pool.acquire(timeout=self._next_wake(now, None))
            if runner is None:
                return
            self._ready.popleft()
            self._send(runner, run, asset, attempt, now)

    def _send(self, runner: Any, run: PartitionRun, asset: str, attempt: int, now: float) -> None:
        definition = self._pipeline.get(asset)
        services = self._services
        task = Task(
            run_id=run.run_id,
            pipeline=self._pipeline.name,
            asset=definition,
            partition=run.partition,
            partition_key=run.partition_key,
            attempt=attempt,
            retry=self._retry or definition.options.retry or services.default_retry,
            io=services.resolve_io(definition.options.io),
            dep_io=tuple(
                (dep, services.resolve_io(self._pipeline.get(dep).options.io)) for dep in definition.deps
            ),
            is_target=asset == run.target,
            premarked=attempt == 1 and asset in run.premarked,
            then_running=self._made_ready_by(run, asset),
            dep_payloads=self._payloads_for(run, definition.deps, attempt),
            fence=self._target_fence if asset == run.target else None,
            deferred=run.start is not None,
        )
        run.premarked.discard(asset)
        completions = self._completions
        watch = supervisors.monitor(
            runner, lambda down: completions.put(RunnerDown(task, down.reason.describe()))
        )
        timeout = definition.options.timeout
        self._in_flight[task] = _InFlight(run, task, watch, None if timeout is None else now + timeout)
        # A runner that died meanwhile cannot be told; its monitor reports it instead.
        with contextlib.suppress(Exception):
            runner.tell(Materialize(task, completions))

    def _payloads_for(self, run: PartitionRun, deps: tuple[str, ...], attempt: int) -> dict[str, bytes | str]:
        """The encoded values ``deps`` produced in this run; each is dropped once every
        planned dependant has had it (a retry reads the value back from the store)."""
        found: dict[str, bytes | str] = {}
        for dep in deps:
            payload = run.payloads.get(dep)
            if payload is None:
                continue
            found[dep] = payload
            if attempt == self._first_attempt:
                left = run.consumers[dep] - 1
                run.consumers[dep] = left
                if left <= 0:
                    del run.payloads[dep]
        return found

    def _made_ready_by(self, run: PartitionRun, asset: str) -> tuple[str, ...]:
        """Dependants waiting on ``asset`` alone: its completion records them running."""
        if self._first_attempt != 1:
            return ()
        waiting = run.waiting
        return tuple(d for d in self._pipeline.dependants.get(asset, ()) if waiting.get(d) == 1)

    # --- outcomes ------------------------------------------------------------------
    def _handle(self, item: Outcome | RunnerDown) -> None:
        flight = self._in_flight.pop(item.task, None)
        if flight is None:
            return  # abandoned after a timeout, or reported twice
        supervisors.demonitor(flight.monitor)
        run = flight.run
        if run.finished:
            return
        task = item.task
        if isinstance(item, RunnerDown):
            cause = RuntimeError(f"the runner executing it stopped ({item.reason}) before it finished")
            self._record_failure(run, task, cause)
            self._finish(run, materialization_error(task, cause))
        elif item.ok:
            if run.start is not None and item.completion is not None:
                held = item.payload is not None and self._services.store.holds(task.io)
                run.ended = WholeRun(
                    start=run.start,
                    completion=item.completion,
                    io=task.io if held else None,
                    payload=item.payload if held else None,
                    partition=run.partition,
                )
            run.premarked.update(task.then_running)
            self._keep_payload(run, task.asset.name, item.payload)
            self._completed(run, task.asset.name, item.value)
        elif item.retry_in is not None:
            due = time.monotonic() + item.retry_in
            heapq.heappush(self._retries, (due, next(self._seq), run, task.asset.name, task.attempt + 1))
        else:
            assert item.error is not None
            if run.start is not None and item.failure is not None:
                run.ended = WholeRun(start=run.start, failure=item.failure, partition=run.partition)
            self._finish(run, item.error)

    def _keep_payload(self, run: PartitionRun, asset: str, payload: bytes | str | None) -> None:
        if payload is None:
            return
        consumers = sum(1 for d in self._pipeline.dependants.get(asset, ()) if d in run.waiting)
        if consumers:
            run.payloads[asset] = payload
            run.consumers[asset] = consumers

    def _fail_stuck_runs(self) -> None:
        # Cannot happen with a valid plan; if it does, fail loudly rather than block forever.
        for run in list(self._runs):
            self._finish(run, RuntimeError(f"run {run.run_id} has nothing left to run but is not complete"))

    def _completed(self, run: PartitionRun, asset: str, value: Any) -> None:
        run.remaining -= 1
        if asset == run.target:
            run.value = value
        for dependant in self._pipeline.dependants.get(asset, ()):
            count = run.waiting.get(dependant)
            if count is not None:
                run.waiting[dependant] = count - 1
                if count == 1:
                    self._ready.append((run, dependant, self._first_attempt))
        if run.remaining == 0:
            self._finish(run, None)

    def _finish(self, run: PartitionRun, error: BaseException | None) -> None:
        run.error = error
        run.finished = True
        self._runs.discard(run)
        self._finished.append(run)

    # --- time ----------------------------------------------------------------------
    def _next_wake(self, now: float, stop_at: float | None) -> float | None:
        times = [f.deadline for f in self._in_flight.values() if f.deadline is not None]
        times.extend(r.deadline for r in self._runs if r.deadline is not None)
        if self._retries:
            times.append(self._retries[0][0])
        if stop_at is not None:
            times.append(stop_at)
        return max(0.0, min(times) - now) if times else None

    def _expire(self, now: float) -> None:
        while self._retries and self._retries[0][0] <= now:
            _, _, run, asset, attempt = heapq.heappop(self._retries)
            if not run.finished:
                self._ready.append((run, asset, attempt))
        for flight in [f for f in self._in_flight.values() if f.deadline is not None and f.deadline <= now]:
            timeout = flight.task.asset.options.timeout
            cause = TimeoutError(f"attempt timed out after {timeout} s (AssetOptions.timeout)")
            self._abandon(flight, cause)
            self._finish(flight.run, materialization_error(flight.task, cause))
        for run in [r for r in self._runs if r.deadline is not None and r.deadline <= now]:
            cause = TimeoutError(f"partition run timed out (run {run.run_id})")
            flights = [f for f in self._in_flight.values() if f.run is run]
            for flight in flights:
                self._abandon(flight, cause)
            run.timed_out = True
            if not flights:
                self._finish_run_record(run, cause)
            error = materialization_error(flights[0].task, cause) if flights else cause
            self._finish(run, error)

    def _abandon(self, flight: _InFlight, cause: TimeoutError) -> None:
        """Give up on an attempt that overran: its late result is discarded, its runner
        retires when it finishes, and a fresh runner takes its place."""
        del self._in_flight[flight.task]
        supervisors.demonitor(flight.monitor)
        flight.task.abandoned.set()
        self._record_failure(flight.run, flight.task, cause)
        log.warning(
            "asset.timed_out",
            run_id=flight.task.run_id,
            asset=flight.task.asset.name,
            partition=flight.task.partition_key,
            error=str(cause),
        )
        self._services.pool.replace()

    def _finish_run_record(self, run: PartitionRun, cause: BaseException) -> None:
        if run.start is not None:  # deferred: it timed out waiting to retry
            attempts = max((a - 1 for _, _, r, _, a in self._retries if r is run), default=1)
            failure = Failure(
                pipeline=self._pipeline.name,
                asset=run.target,
                partition_key=run.partition_key,
                run_id=run.run_id,
                attempts=attempts,
                at=datetime.now(UTC),
                error=f"{type(cause).__name__}: {cause}",
                actor=self._services.node_id,
            )
            run.ended = WholeRun(start=run.start, failure=failure, partition=run.partition)
            return
        try:
            self._services.store.finish_run(
                run.run_id,
                status="failed",
                at=datetime.now(UTC),
                error=f"{type(cause).__name__}: {cause}",
                actor=self._services.node_id,
            )
        except Exception as exc:  # noqa: BLE001 - reported to the caller, never swallowed
            log.error("run.failure_not_recorded", run_id=run.run_id, error=str(exc))

    def _record_failure(self, run: PartitionRun, task: Task, cause: BaseException) -> None:
        failure = record_failure(task, self._services, cause)
        if failure is not None and run.start is not None:
            run.ended = WholeRun(start=run.start, failure=failure, partition=run.partition)
