"""Running a scatter's units: claim from the barrier, run on worker threads, until none is left.

The dispatcher claims only as many units as it has idle workers, and the barrier never
leases more than ``max_concurrent`` at once across every worker on the database, so no
claim can ever wait on itself (the original's deadlock, where unfinished items at the
limit snoozed forever). It wakes when one of its units ends; it polls, bounded, only
for what another process may change (a unit finishing elsewhere, a lease running out,
the rate's next slot). Leases are renewed while units run, so a unit is claimed again
only when its holder has stopped.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from flowstone._scatter.options import Rate
from flowstone._scatter.units import Ended
from flowstone._store.barrier import ScatterBarrier, Unit
from supervisors._log import get_logger

__all__ = ["LEASE", "Dispatch", "dispatch"]

log = get_logger("flowstone")

LEASE = 15.0
"""Seconds a unit stays leased to a holder without a renewal (renewed every third of it)."""

POLL = 0.05
"""The longest wait for what only another process can change (a bounded poll)."""

PREFETCH = 32
"""Without ``max_concurrent``, how many units per worker are leased ahead: a claim and a
hand-over cost more than a small key's run, so they are paid per chunk, not per key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispatch:
    """Where and how fast to run one scatter's units."""

    barrier: ScatterBarrier
    run_id: str
    asset: str
    holder: str
    workers: int
    max_concurrent: int | None
    rate: Rate | None
    stopping: threading.Event
    clock: Callable[[], float]
    lease: float = LEASE
    #: A helper (another worker's node) stops once nothing is left to claim; the scatter's
    #: own driver waits until every key has ended, wherever it ran.
    helping: bool = False
    label: str = "scatter"  # its worker threads' names


def _finished(plan: Dispatch) -> bool:
    progress = plan.barrier.progress(plan.run_id, plan.asset)
    if progress is None or progress.state != "open":
        return True
    return progress.total is not None and progress.done + progress.failed >= progress.total


def dispatch(plan: Dispatch, run: Callable[[Unit], Ended], record: Callable[[list[Ended]], None]) -> None:
    """Run every unit of the scatter (or until ``plan.stopping``); returns when none is left
    to run here or elsewhere. ``record`` is given the units that ended since it was last
    called, from the dispatching thread (a group commit). Every worker thread started is
    joined before it returns."""
    _Dispatcher(plan, run, record).run()


class _Dispatcher:
    def __init__(
        self, plan: Dispatch, run: Callable[[Unit], Ended], record: Callable[[list[Ended]], None]
    ) -> None:
        self.plan = plan
        self._run = run
        self._record = record
        self.work: queue.SimpleQueue[list[Unit] | None] = queue.SimpleQueue()
        self.ended: queue.SimpleQueue[Ended] = queue.SimpleQueue()
        self.capacity = plan.max_concurrent or plan.workers * PREFETCH
        self.held: set[int] = set()
        self.renew_at = plan.clock() + plan.lease / 3
        self.interval = None if plan.rate is None else plan.rate.interval

    def worker(self) -> None:
        while (chunk := self.work.get()) is not None:
            for unit in chunk:
                ended = Ended(unit.position, None, None)
                try:
                    ended = self._run(unit)
                except Exception:  # pragma: no cover - run_unit never raises for the asset
                    log.exception("scatter.unit_crashed", asset=self.plan.asset, position=unit.position)
                finally:
                    self.ended.put(ended)

    def run(self) -> None:
        plan = self.plan
        threads = [
            threading.Thread(target=self.worker, name=f"{plan.label}-{plan.asset}-{i}", daemon=True)
            for i in range(plan.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            self._loop()
        finally:
            for _ in threads:
                self.work.put(None)
            for thread in threads:
                thread.join()

    def _claim(self) -> list[Unit]:
        plan = self.plan
        idle = self.capacity - len(self.held)
        if idle <= 0 or plan.stopping.is_set():
            return []
        now = plan.clock()
        claimed = plan.barrier.claim(
            plan.run_id,
            plan.asset,
            holder=plan.holder,
            limit=idle,
            lease_until=now + plan.lease,
            now=now,
            max_running=plan.max_concurrent,
            interval=self.interval,
        )
        self.held.update(unit.position for unit in claimed)
        size = max(1, -(-len(claimed) // plan.workers))  # spread over the workers
        for start in range(0, len(claimed), size):
            self.work.put(claimed[start : start + size])
        return claimed

    def _loop(self) -> None:
        plan = self.plan
        while True:
            self._take_ended(None)
            claimed = self._claim()
            if not self.held and not claimed and (plan.stopping.is_set() or plan.helping or _finished(plan)):
                return
            now = plan.clock()
            if self.held and now >= self.renew_at:
                plan.barrier.renew(plan.run_id, plan.asset, plan.holder, sorted(self.held), now + plan.lease)
                self.renew_at = now + plan.lease / 3
            if claimed and len(self.held) < self.capacity:
                continue  # room for more: claim again at once
            # Wait for one of ours to end; bounded when only another process (or the
            # rate's next slot) can make progress.
            full = len(self.held) >= self.capacity
            ours_only = plan.max_concurrent is not None and len(self.held) >= plan.max_concurrent
            wait = self.renew_at - now
            self._take_ended(max(wait if full or ours_only else min(POLL, wait), 0.0))

    def _take_ended(self, timeout: float | None) -> None:
        """Record the units that ended, in one transaction, and forget them; with a timeout,
        wait that long for the first."""
        ended: list[Ended] = []
        if timeout is not None:
            with contextlib.suppress(queue.Empty):
                ended.append(self.ended.get(timeout=timeout))
        while True:
            try:
                ended.append(self.ended.get_nowait())
            except queue.Empty:
                break
        if ended:
            self._record(ended)
            self.held.difference_update(e.position for e in ended)
