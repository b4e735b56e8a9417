"""The time side of a run's scheduler: retries that fall due, attempts and runs that
overrun their deadlines, and when the scheduler must wake next."""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

from flowstone._execution.failures import materialization_error
from flowstone._execution.flight import Dispatch, InFlight, PartitionRun, close_timed_out
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._execution.task import Task
    from flowstone._node.services import Services

__all__ = ["Deadlines"]

log = get_logger("flowstone")


class Deadlines:
    """Mixed into ``Scheduler``, whose state and bookkeeping it uses."""

    _in_flight: dict[Task, InFlight]
    _runs: set[PartitionRun]
    _retries: list[tuple[float, int, PartitionRun, str, int]]
    _ready: deque[tuple[PartitionRun, str, int]]
    _services: Services

    def _landed(self, flight: InFlight) -> None:
        raise NotImplementedError

    def _take_back(self, dispatch: Dispatch, *, abandon: bool) -> None:
        raise NotImplementedError

    def _finish(self, run: PartitionRun, error: BaseException | None) -> None:
        raise NotImplementedError

    def _record_failure(self, run: PartitionRun, task: Task, cause: BaseException) -> None:
        raise NotImplementedError

    def _start_clocks(self, items: list[tuple[PartitionRun, str, int]], now: float) -> None:
        """A run with a ``timeout`` (a backfill's partition) is timed from when its first
        task is sent, and again after it was taken back: a backfill starts partitions ahead
        of their turn, and one that waited in the queue behind a hanging task (its runner
        the only one a ``parallel=1`` backfill may use) must not time out for that wait."""
        for run, _, _ in items:
            if run.deadline is None and run.timeout is not None:
                run.deadline = now + run.timeout

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
            if run.finished or run.deadline is None or run.deadline > now:
                continue  # taken back meanwhile (timed again once sent), or given a new deadline
            flights = [f for f in self._in_flight.values() if f.run is run]
            if flights and all(f.dispatch.waiting(f.task) for f in flights) and run.timeout is not None:
                run.deadline = now + run.timeout  # it waits behind another task of its message
                continue
            cause = TimeoutError(f"partition run timed out (run {run.run_id})")
            for flight in flights:
                self._abandon(flight, cause)
            run.timed_out = True
            if not flights:
                self._finish_run_record(run, cause)
            error = materialization_error(flights[0].task, cause) if flights else cause
            self._finish(run, error)

    def _abandon(self, flight: InFlight, cause: TimeoutError) -> None:
        """Give up on an attempt that overran: its late result is discarded, its runner
        retires when it finishes, and a fresh runner takes its place. The other tasks of
        its message go back to the queue: they may wait behind it forever."""
        if self._in_flight.pop(flight.task, None) is None:
            return
        self._landed(flight)
        flight.task.abandoned.set()
        self._take_back(flight.dispatch, abandon=True)
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
        attempts = max((a - 1 for _, _, r, _, a in self._retries if r is run), default=1)
        close_timed_out(run, cause, attempts, self._services)
