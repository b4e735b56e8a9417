"""Wall-clock time for schedules and sensors, injectable: ``SystemWallClock`` and the
``ManualClock`` tests drive (``flowstone.testing.ManualClock``)."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from supervisors import Cancellable

__all__ = ["ManualClock", "SystemWallClock", "WallClock", "Wake"]

#: A callback a clock runs when a time falls due. It may return an event: a manual clock
#: then waits (boundedly) for it before moving on, so that what the callback started (an
#: actor firing a tick) happens at that instant of manual time.
Wake = Callable[[], "threading.Event | None"]

_SETTLE_SECONDS = 10.0


class WallClock(Protocol):
    """Aware wall-clock time and callbacks at given instants."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""

    def call_at(self, when: datetime, callback: Wake) -> Cancellable:
        """Run ``callback`` (in some thread) once ``when`` has come."""


class _Timer:
    def __init__(self, delay: float, callback: Wake) -> None:
        self._timer = threading.Timer(delay, callback)
        self._timer.daemon = True
        self._timer.name = "flowstone-schedule-timer"
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()
        if self._timer is not threading.current_thread():
            self._timer.join()


class SystemWallClock:
    """Real time, one short-lived timer thread per pending call (an actor keeps at most two)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_at(self, when: datetime, callback: Wake) -> Cancellable:
        return _Timer(max(0.0, (when - self.now()).total_seconds()), callback)


class _Handle:
    def __init__(self, clock: ManualClock, seq: int) -> None:
        self._clock = clock
        self._seq = seq

    def cancel(self) -> None:
        self._clock._cancel(self._seq)


class ManualClock:
    """A wall clock that moves only when the test calls ``advance``; several nodes may share one.

    ``ManualClock(datetime(2026, 3, 28, 12, tzinfo=UTC))``; ``advance(seconds_or_timedelta)``
    runs, in the calling thread and in time order, every callback that falls due on the
    way, with ``now()`` at its due time, and waits for what each one started (a schedule
    firing its tick) before going on.
    """

    def __init__(self, start: datetime) -> None:
        if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"ManualClock needs an aware start datetime (tzinfo set), got {start!r}")
        self._now = start
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._heap: list[tuple[datetime, int, Wake]] = []
        self._cancelled: set[int] = set()

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def call_at(self, when: datetime, callback: Wake) -> Cancellable:
        with self._lock:
            seq = next(self._seq)
            heapq.heappush(self._heap, (max(when, self._now), seq, callback))
        return _Handle(self, seq)

    def _cancel(self, seq: int) -> None:
        with self._lock:
            self._cancelled.add(seq)

    def advance(self, by: float | timedelta) -> datetime:
        """Move time forward by seconds or a timedelta; returns the new time."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError(f"a clock never goes back: advance got {by!r}")
        with self._lock:
            target = self._now + step
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > target:
                    self._now = target
                    return target
                due, seq, callback = heapq.heappop(self._heap)
                self._now = max(self._now, due)
                if seq in self._cancelled:
                    self._cancelled.discard(seq)
                    continue
            settled = callback()  # outside the lock: it may read the clock or set a timer
            if settled is not None:
                settled.wait(_SETTLE_SECONDS)
