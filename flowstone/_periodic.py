"""``Periodic``: a message an actor handles every few seconds, with no timer thread.

Through ``SystemClock.call_later`` every tick of the waits actor, every help probe of the
scatters actor and every look of the sensors actor started a thread of its own (20 a
second each on a node polling every 50 ms, issue 22). Here the actor's own wait for its
next message ends when the tick is due (``supervisors.Actor.receive_timeout``,
gen_server's timeout), and a tick that messages kept coming past is handled as soon as
one of them is: a busy actor does not put its ticks off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import supervisors

__all__ = ["Periodic"]


class Periodic:
    """``handle(message)`` about every ``interval`` seconds, on ``actor``'s thread.

    The actor calls ``wait()`` after each message it handles (and in ``on_start``), and
    sends ``message`` to its own handler from ``on_timeout``; the handler calls
    ``schedule()`` for the next one. ``cancel()`` stops them.
    """

    __slots__ = ("_actor", "_handle", "_interval", "_message", "_monotonic", "due_at")

    def __init__(
        self,
        actor: supervisors.Actor,
        message: str,
        interval: float,
        handle: Callable[[str], Any],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._actor = actor
        self._message = message
        self._interval = interval
        self._handle = handle
        self._monotonic = monotonic
        self.due_at: float | None = None

    def schedule(self) -> None:
        """The next one is due ``interval`` seconds from now."""
        self.due_at = self._monotonic() + self._interval

    def cancel(self) -> None:
        self.due_at = None

    def wait(self) -> None:
        """Bound the actor's wait for its next message by the time left until the next
        one; if that has passed already, handle it now (the handler schedules the next)."""
        if self.due_at is None:
            return
        left = self.due_at - self._monotonic()
        if left <= 0:
            self.due_at = None
            self._handle(self._message)
            if self.due_at is None:
                return
            left = self.due_at - self._monotonic()
        self._actor.receive_timeout = left
