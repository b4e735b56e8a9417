"""``fs.http.Client(rate=fs.Rate(...))``: each request waits for a grant of the client's own window.

A resource's object has no context to reach the node's resources actor (which keeps the
``ctx.limit`` grants), so the client keeps its own sliding window: at most ``rate.n``
request starts in any ``rate.per`` seconds, for every thread of the process that uses
this client. It is per process; ``ctx.limit`` is the limit shared by the assets of a node.
The clock and the wait are injected, so a test runs the schedule without sleeping.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowstone._scatter.options import Rate

__all__ = ["RequestRate", "grant_time"]


def grant_time(granted: deque[float], limit: int, per: float, now: float) -> float:
    """When the next start may happen, given the starts already granted (oldest first,
    some may lie in the future); records it. Any window of ``per`` seconds then holds at
    most ``limit`` starts."""
    while granted and granted[0] <= now - per:
        granted.popleft()
    at = now if len(granted) < limit else max(now, granted[-limit] + per)
    granted.append(at)
    return at


class RequestRate:
    """The window of one client: ``acquire()`` returns once this request may start."""

    __slots__ = ("_clock", "_granted", "_lock", "_rate", "_wait")

    def __init__(self, rate: Rate, clock: Callable[[], float], wait: Callable[[float], None]) -> None:
        self._rate = rate
        self._clock = clock
        self._wait = wait
        self._granted: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Reserve a start and wait until it is due (a timed wait, not a polling loop);
        returns the seconds waited."""
        with self._lock:
            now = self._clock()
            delay = grant_time(self._granted, self._rate.n, float(self._rate.per), now) - now
        if delay > 0:
            self._wait(delay)
            return delay
        return 0.0
