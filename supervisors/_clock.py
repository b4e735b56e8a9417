"""Injected time, so restart windows and backoff are testable without sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Cancellable", "Clock", "SystemClock"]


class Cancellable(Protocol):
    """A scheduled callback that can be cancelled."""

    def cancel(self) -> None:
        """Stop the callback from running; wait for it if it is running now."""


class Clock(Protocol):
    """Monotonic time and delayed callbacks."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable:
        """Run ``callback`` (in some thread) after ``delay`` seconds."""


class _TimerHandle:
    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self._timer = threading.Timer(delay, callback)
        self._timer.daemon = True
        self._timer.name = "supervisors-timer"
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()
        if self._timer is not threading.current_thread():
            self._timer.join()


class SystemClock:
    """Real time: ``time.monotonic`` and one short-lived timer thread per delayed call.

    Delayed calls are rare (a restart with backoff), so a thread each is cheaper than a
    permanent scheduler thread per supervisor.
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable:
        return _TimerHandle(max(0.0, delay), callback)
