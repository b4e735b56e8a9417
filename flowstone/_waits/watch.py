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

__all__ = ["Ended", "RunWatch"]

#: (value, error) of a run that ended
Ended = tuple[Any, BaseException | None]


class RunWatch:
    """The outcomes of runs resumed here, kept for a while for the callers waiting on them."""

    def __init__(self, keep: int = 10_000) -> None:
        self._cond = threading.Condition()
        self._ended: OrderedDict[str, Ended] = OrderedDict()
        self._keep = keep

    def ended(self, run_id: str, value: Any, error: BaseException | None) -> None:
        with self._cond:
            self._ended[run_id] = (value, error)
            while len(self._ended) > self._keep:
                self._ended.popitem(last=False)
            self._cond.notify_all()

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
            if look is not None:
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
                if run_id not in self._ended:
                    self._cond.wait(pause)
