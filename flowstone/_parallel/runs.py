"""``BranchRuns``: the threads that run a node's parallel branches, one per branch.

A branch is an ordinary run of its final asset (``run_target``: it schedules on the
node's runners like ``node.run``), started by the parallel asset and ended by recording
how it went in the group's rows; the parallel asset itself holds no thread while it
waits. The node stops these threads after its runners (``node.stop``): a branch cut
short by the stop records nothing, so that a later run adopts the group and runs it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from flowstone._ids import new_id
from flowstone._parallel.verdict import Ended
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline
    from flowstone.partitions import Partition

__all__ = ["BranchRuns", "run_branch"]

log = get_logger("flowstone")


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    shown = cause if cause is not None else exc
    return f"{type(shown).__name__}: {shown}"


def run_branch(services: Services, pipeline: Pipeline, final: str, partition: Partition) -> Ended:
    """Materialize ``final`` (and what it needs) for ``partition``: how it ended."""
    from flowstone._execution.run import run_target  # noqa: PLC0415 - an import cycle at load
    from flowstone._routing.options import SKIPPED  # noqa: PLC0415
    from flowstone._waits.api import await_run  # noqa: PLC0415

    try:
        result = run_target(pipeline, final, partition, services, run_id=new_id())
        value = result.value
        if result.waiting:  # the branch waits durably itself (a gate): this thread waits for it
            assert result.run_id is not None
            value = await_run(services.waits, services, pipeline, final, partition, result.run_id, None)
    except Exception as exc:  # noqa: BLE001 - a branch's failure is an outcome of the group
        return Ended(False, _describe(exc))
    if value is SKIPPED:
        return Ended(False, None, skipped=True)
    return Ended(True)


class BranchRuns:
    """The branch threads of one node (a pool, started when first needed); safe from any thread."""

    #: Branches running at once on one node; more wait for a thread. A branch holds its
    #: thread only while its run goes on (the runners do the work).
    MAX_THREADS = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.stopping = threading.Event()
        #: The node's jobs when it works queues: then branches run as jobs (``jobs.py``).
        self.jobs: Any = None

    def start(self, name: str, body: Callable[[], Ended], ended: Callable[[Ended], Any]) -> bool:
        """Run ``body`` on a thread of the pool and hand its outcome to ``ended``, unless the
        node is stopping (then neither runs); whether it was started."""

        def main() -> None:
            try:
                outcome = body()
                if not self.stopping.is_set():  # cut short by the stop: left for a later run
                    ended(outcome)
            except Exception as exc:  # noqa: BLE001 - logged: the group's timeout still ends it
                log.error("parallel.branch_crashed", branch=name, error=f"{type(exc).__name__}: {exc}")

        with self._lock:
            if self.stopping.is_set():
                return False
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.MAX_THREADS, thread_name_prefix="flowstone-branch")
            self._pool.submit(main)
        return True

    def halt(self) -> None:
        """The node is stopping: branches that end from now on record nothing (their runs
        are cut short by the stop, not failed), and none starts."""
        self.stopping.set()

    def stop(self, deadline: float) -> None:
        """Start no more branches (those not started are left, as their rows say, for a later
        run), and join the pool's threads: the node's runners are closed by then, so a
        branch still running ends at once."""
        with self._lock:
            self.stopping.set()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
