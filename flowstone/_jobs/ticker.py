"""``Ticker``: one thread that tells an actor its timed messages, for the actor's life.

A queue's producer arms its poll every ``poll_interval``, and the schedules actor its
own. Through ``Clock.call_later`` each of those started a thread (a ``threading.Timer``)
and joined it when cancelled (issue 22). The ticker is one thread, started with its
actor and stopped (and joined) when the actor stops; arming a message again moves its
due time, and a message is told at most once per arming. (The producer's linger, every
few jobs, is no timer at all: its ``receive_timeout``, the wait for its next message.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pykka import ActorDeadError

__all__ = ["Ticker"]


class Ticker:
    """Tells ``ref`` each armed message once its delay has passed (``monotonic`` time)."""

    def __init__(self, ref: Any, monotonic: Callable[[], float], name: str) -> None:
        self._ref = ref
        self._monotonic = monotonic
        self._due: dict[str, float] = {}  # message -> when it is due
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def arm(self, message: str, delay: float) -> None:
        """Tell ``message`` in ``delay`` seconds (instead of when it was due, if armed)."""
        with self._wake:
            at = self._monotonic() + max(0.0, delay)
            earliest = min(self._due.values(), default=None)
            self._due[message] = at
            if earliest is None or at < earliest:  # else the thread wakes early enough
                self._wake.notify()

    def disarm(self, message: str) -> None:
        """Do not tell ``message`` (armed or not)."""
        with self._wake:
            self._due.pop(message, None)

    def stop(self) -> None:
        """Tell nothing more; end the thread and join it (unless called from it)."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._wake:
                due = self._take_due()
                while not due and not self._stopped:
                    earliest = min(self._due.values(), default=None)
                    self._wake.wait(None if earliest is None else max(0.0, earliest - self._monotonic()))
                    due = self._take_due()
                if self._stopped:
                    return
            for message in due:
                try:
                    self._ref.tell(message)
                except ActorDeadError:
                    return  # its actor has ended: it stops this ticker as it does

    def _take_due(self) -> list[str]:
        now = self._monotonic()
        due = [message for message, at in self._due.items() if at <= now]
        for message in due:
            del self._due[message]
        return due
