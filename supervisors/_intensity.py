"""Restart intensity: OTP's sliding window, as a pure object over injected timestamps."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from supervisors._reasons import ExitReason

__all__ = ["GaveUp", "RestartWindow"]


class RestartWindow:
    """Counts restarts in the last ``max_seconds``; more than ``max_restarts`` means give up.

    One window per supervisor, across all its children (not per child), as in OTP's
    ``add_restart``: the restart being attempted is added first, then the count is checked,
    so ``max_restarts=0`` gives up at the first restart.
    """

    __slots__ = ("_max_restarts", "_max_seconds", "_times")

    def __init__(self, max_restarts: int, max_seconds: float) -> None:
        self._max_restarts = max_restarts
        self._max_seconds = max_seconds
        self._times: deque[float] = deque()

    def add(self, now: float) -> bool:
        """Record a restart at ``now``; True while the supervisor may go on restarting."""
        self._times.append(now)
        horizon = now - self._max_seconds
        while self._times and self._times[0] < horizon:
            self._times.popleft()
        return len(self._times) <= self._max_restarts

    def count(self, now: float) -> int:
        """Restarts within the window ending at ``now``."""
        horizon = now - self._max_seconds
        return sum(1 for t in self._times if t >= horizon)


@dataclass(frozen=True, slots=True, kw_only=True)
class GaveUp:
    """A supervisor reached its restart intensity and is stopping (OTP's
    ``reached_max_restart_intensity`` report), handed to ``on_give_up``.

    ``last_exits`` holds the most recent child exits, oldest first, as
    ``(child_id, ExitReason)``; ``child`` is the one whose restart was refused.
    """

    supervisor: str
    child: str
    max_restarts: int
    max_seconds: float
    last_exits: tuple[tuple[str, ExitReason], ...]

    def describe(self) -> str:
        """One line: who gave up, and why its children ended."""
        reasons = "; ".join(f"{child}: {reason.describe()}" for child, reason in self.last_exits)
        return (
            f"supervisor {self.supervisor!r} gave up after more than {self.max_restarts} restarts in "
            f"{self.max_seconds:g} s (last: {self.child!r}); recent exits: {reasons or 'none'}"
        )
