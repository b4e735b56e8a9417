"""Actor threads started without waiting for the new thread to report that it runs.

``threading.Thread.start`` blocks its caller until the new thread has set its ``_started``
event: the starter wakes the new thread, which wakes the starter back. A supervisor does not
need that hand-off: it waits for the child's start through the child's ``Lifecycle``
(``wait_started``, settled before the thread runs for an actor without ``on_start``), and
every join goes through ``Lifecycle.wait_exited``, which joins only once the actor's own
thread has marked its exit (so after the thread bootstrapped). Dropping the hand-off takes
two thread wake-ups off every (re)start's critical path (issue 22: restart latency).

The thread is otherwise a plain ``threading.Thread``: it is listed by ``threading.enumerate``
from the moment ``start`` returns (CPython keeps it in ``threading._limbo`` until it runs),
``is_alive`` is True from then on, and ``join`` first waits for it to run. Only daemon
threads skip the hand-off: the interpreter's exit waits for non-daemon threads through a
lock each sets up once running, which a thread still being bootstrapped would not have yet.
The hand-off is also kept wherever ``Thread.start``'s internals differ from CPython
3.11/3.12's (3.13 starts threads through a join handle): there, ``start`` is
``threading.Thread.start``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

__all__ = ["ActorThread"]

_internals: Any = threading
#: CPython 3.11/3.12 start a thread with ``_start_new_thread(self._bootstrap, ())`` after
#: putting it in ``_limbo`` under ``_active_limbo_lock``; ``start`` is that minus the wait.
_NO_HAND_OFF = (
    sys.implementation.name == "cpython"
    and sys.version_info < (3, 13)
    and all(hasattr(_internals, name) for name in ("_start_new_thread", "_limbo", "_active_limbo_lock"))
)


class ActorThread(threading.Thread):
    """A ``threading.Thread`` whose ``start`` returns without waiting for the thread to run."""

    _launched = False  # started without the hand-off, maybe not yet running

    def start(self) -> None:
        if not (_NO_HAND_OFF and self.daemon):
            super().start()
            return
        this: Any = self
        if this._started.is_set() or self in _internals._limbo:
            raise RuntimeError("threads can only be started once")
        with _internals._active_limbo_lock:
            _internals._limbo[self] = self
        try:
            _internals._start_new_thread(this._bootstrap, ())
        except Exception:
            with _internals._active_limbo_lock:
                del _internals._limbo[self]
            raise
        self._launched = True

    def _pending(self) -> bool:
        """Started, but not yet running its bootstrap (``Thread`` would call it not alive)."""
        started: threading.Event = self._started  # type: ignore[attr-defined]
        return self._launched and not started.is_set()

    def is_alive(self) -> bool:
        return self._pending() or super().is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._pending():
            until = None if timeout is None else time.monotonic() + timeout
            started: threading.Event = self._started  # type: ignore[attr-defined]
            if not started.wait(timeout):
                return  # as a join that timed out: still alive
            timeout = None if until is None else max(0.0, until - time.monotonic())
        super().join(timeout)
