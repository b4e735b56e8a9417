"""``RunWatch``: how ``node.run`` waits for a run parked on a durable wait to end.

Runs resumed in this process report here and wake the waiter at once; a run resumed by
another process is seen in the store, by a bounded poll (SQLite has no notifications).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flowstone.errors import FlowStoneError

__all__ = ["Ended", "RunWatch"]

#: (value, error) of a run that ended
Ended = tuple[Any, BaseException | None]


class RunWatch:
    """The outcomes of runs resumed here, kept for a while for the callers waiting on them."""

    def __init__(self, keep: int = 1_000) -> None:
        self._cond = threading.Condition()
        self._ended: OrderedDict[str, Ended] = OrderedDict()
        self._local: set[str] = set()  # runs being resumed here: they report here
        self._keep = keep
        self._closed = False

    def close(self) -> None:
        """The node stopped: its waiters return (the runs stay waiting in the store)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def begin(self, run_id: str) -> None:
        """A run is being resumed here: its outcome will be reported here, with its error."""
        with self._cond:
            self._local.add(run_id)

    def ended(self, run_id: str, value: Any, error: BaseException | None) -> None:
        with self._cond:
            self._local.discard(run_id)
            self._ended[run_id] = (value, error)
            while len(self._ended) > self._keep:
                self._ended.popitem(last=False)
            self._cond.notify_all()

    def parked(self, run_id: str) -> None:
        """A run resumed here waits again."""
        with self._cond:
            self._local.discard(run_id)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def wait(
        self, run_id: str, timeout: float | None, look: Callable[[], Ended | None] | None, every: float
    ) -> Ended | None:
        """The run's outcome, or None after ``timeout``; ``look`` reads the store every
        ``every`` seconds (a run another process resumed)."""
        stop_at = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._cond:
                found = self._ended.pop(run_id, None)
                if found is not None:
                    return found
                local = run_id in self._local
                if self._closed:
                    raise FlowStoneError(
                        f"the node stopped while run {run_id} was waiting; the run stays waiting "
                        "(a database keeps it: any node on it resumes it)"
                    )
            if look is not None and not local:
                seen = look()
                if seen is not None:
                    return seen
            left = None if stop_at is None else stop_at - time.monotonic()
            if left is not None and left <= 0:
                return None
            pause = every if look is not None else left
            if pause is not None and left is not None:
                pause = min(pause, left)
            with self._cond:
                if run_id not in self._ended and not self._closed:
                    self._cond.wait(pause)
