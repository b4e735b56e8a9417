"""``ctx.limit(fs.Rate(...))``: at most ``limit`` starts per ``per`` seconds for a key.

The grants are kept by the resources actor (``RateWindows`` lives only there); a caller
asks it for the moment its start is allowed and waits until then. This is the in-process
limiter (every asset of one node shares it); the limiter shared by every process on a
database is not built yet (docs/resources.md).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowstone.errors import FlowStoneError

__all__ = ["RateWindows", "Reserve", "reserver", "wait_for_grant"]


@dataclass(frozen=True, slots=True)
class Reserve:
    """Ask the resources actor for the next start of ``key`` (``limit`` per ``per`` s)."""

    key: str
    limit: int
    per: float


class RateWindows:
    """Per key, the start times granted in the last window (some may lie in the future).

    A new start is granted at ``now`` when fewer than ``limit`` starts fall in the
    window, else when the ``limit``-th last one leaves it, so any window of ``per``
    seconds holds at most ``limit`` starts.
    """

    __slots__ = ("_granted",)

    def __init__(self) -> None:
        self._granted: dict[str, deque[float]] = {}

    def reserve(self, request: Reserve, now: float) -> float:
        """The time (on ``now``'s clock) at which this start may happen."""
        granted = self._granted.setdefault(request.key, deque())
        while granted and granted[0] <= now - request.per:
            granted.popleft()
        at = now if len(granted) < request.limit else max(now, granted[-request.limit] + request.per)
        granted.append(at)
        return at


def reserver(lookup: Callable[[str], Any]) -> Callable[[Reserve], float]:
    """A ``ctx._reserve``: asks the node's resources actor (looked up on each use, as
    actors restart with new refs) for a grant."""

    def reserve(request: Reserve) -> float:
        ref = lookup("resources")
        if ref is None:
            raise FlowStoneError(
                f"ctx.limit: the node's resources actor is not running (key {request.key!r}); "
                "is the node stopping?"
            )
        at: float = ref.ask(request, timeout=30.0)
        return at

    return reserve


def wait_for_grant(ask: Callable[[Reserve], float], request: Reserve, clock: Callable[[], float]) -> None:
    """Reserve a start and wait until it is due (a timed wait, not a polling loop)."""
    at = ask(request)
    delay = at - clock()
    if delay > 0:
        threading.Event().wait(delay)
