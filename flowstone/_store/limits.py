"""The store's limiter: rate grants and concurrency slots shared by every process on it.

``MemoryLimits`` (``memory_limits.py``) keeps them in this process; ``SQLLimits``
(``sql/limits.py``) in the database, so that every node on it shares one rate and one
set of slots per key. Times are epoch seconds of the caller's clock (``time.time()``),
as the scatter barrier's are: the processes sharing a key must share a clock.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Limits", "rate_key", "slot_key"]


def rate_key(key: str) -> str:
    """The limiter row of a rate key (rates and slots may share a user key)."""
    return "rate:" + key


def slot_key(key: str) -> str:
    """The limiter row of a slots key."""
    return "slots:" + key


class Limits(Protocol):
    """Conditional writes: two processes asking at once never both get the last grant."""

    #: True when the grants are shared with other processes (a database).
    shared: bool

    def reserve_start(self, key: str, interval: float, now: float) -> float:
        """Reserve the next start of ``key``: the time at which it may happen (``>= now``).

        Starts are spaced ``interval`` apart (``per / limit``), so any window of ``per``
        seconds holds at most ``limit`` of them; a reservation is never given twice.
        """

    def take_slot(self, key: str, n: int, holder: str, node: str, now: float, lease_until: float) -> float:
        """Hold one of ``key``'s ``n`` slots until ``lease_until``: 0.0 if held, else the
        seconds until the earliest lease held by another expires (when to retry at the latest;
        the store's limiter answers a short wait when a free slot was busy for an instant)."""

    def release_slot(self, key: str, holder: str) -> None:
        """Give a slot back (nothing if it was not held, or expired and was taken)."""

    def renew_slots(self, node: str, lease_until: float) -> int:
        """Extend every lease ``node`` holds to ``lease_until`` (its heartbeat); how many."""
