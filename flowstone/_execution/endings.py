"""How a run's scheduler lets a run go: finished (done or failed), or parked while one of
its assets waits durably (its wait resumes it later, holding nothing meanwhile)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from flowstone._execution.attempt import record_failure
from flowstone._execution.flight import InFlight, PartitionRun

if TYPE_CHECKING:
    from flowstone._execution.task import Task
    from flowstone._node.services import Services

__all__ = ["Endings"]


class Endings:
    """Mixed into ``Scheduler``, whose state it uses."""

    _in_flight: dict[Task, InFlight]
    _runs: set[PartitionRun]
    _finished: list[PartitionRun]
    _retries: list[tuple[float, int, PartitionRun, str, int]]
    _ready: deque[tuple[PartitionRun, str, int]]
    _services: Services

    def _fail_stuck_runs(self) -> None:
        # Runs whose assets wait are parked; any other cannot happen with a valid plan:
        # if it does, fail loudly rather than block forever.
        for run in list(self._runs):
            if run.suspended:
                self._park(run)
            else:
                self._finish(
                    run, RuntimeError(f"run {run.run_id} has nothing left to run but is not complete")
                )

    def _park_if_idle(self, run: PartitionRun) -> None:
        """A run with nothing in flight, ready or due to retry while an asset waits is
        parked: the scheduler forgets it (nothing is held), its wait resumes it later."""
        if any(f.run is run for f in self._in_flight.values()):
            return
        if any(r is run for r, _, _ in self._ready) or any(r is run for _, _, r, _, _ in self._retries):
            return
        self._park(run)

    def _park(self, run: PartitionRun) -> None:
        run.parked = True
        self._finish(run, None)

    def _finish(self, run: PartitionRun, error: BaseException | None) -> None:
        ended_now = not run.finished
        run.error = error
        run.finished = True
        self._runs.discard(run)
        self._finished.append(run)
        for chain in run.chains:  # no task of the run starts now
            chain.stop()
        if ended_now and not run.parked:  # a parked run has not ended: it resumes later
            for kind in run.cleanups:
                kind.run_ended(self._services, run.run_id)

    def _record_failure(self, run: PartitionRun, task: Task, cause: BaseException) -> None:
        run.ended_with(record_failure(task, self._services, cause))
