"""Monitors: one callback when an actor ends, with the reason (OTP's ``monitor/2``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from supervisors._lifecycle import Lifecycle, call_monitor, lifecycle_of
from supervisors._reasons import ExitReason

__all__ = ["Down", "Monitor", "demonitor", "monitor"]


@dataclass(frozen=True, slots=True)
class Down:
    """The message a monitor delivers: ``ref`` ended with ``reason``."""

    ref: Any
    reason: ExitReason


@dataclass(frozen=True, slots=True)
class Monitor:
    """A handle to cancel a monitor with ``demonitor``."""

    ref: Any
    _lifecycle: Lifecycle = field(repr=False, compare=False)
    _token: int | None = field(repr=False)


def monitor(ref: Any, callback: Callable[[Down], None]) -> Monitor:
    """Call ``callback(Down(ref, reason))`` exactly once when the actor behind ``ref`` ends.

    ``ref`` is a ``supervisors.Actor`` ref or a ``SupervisorRef``. If the actor has already
    ended, the callback runs at once in the caller's thread; otherwise it runs in the
    ending actor's thread, after its ``on_stop``/``on_failure``, so it must be quick and
    must not block on that actor (send a message instead).
    """
    lifecycle = lifecycle_of(ref)
    token = lifecycle.add_monitor(lambda reason: callback(Down(ref, reason)))
    if token is None:
        reason = lifecycle.exit_reason
        assert reason is not None
        call_monitor(lambda r: callback(Down(ref, r)), reason)
    return Monitor(ref, lifecycle, token)


def demonitor(handle: Monitor) -> bool:
    """Cancel a monitor; True if it was active (its callback will not run)."""
    if handle._token is None:
        return False
    return handle._lifecycle.remove_monitor(handle._token)
