"""``ReplyFuture``: the future a ``supervisors.Actor`` answers an ``ask`` through.

pykka's ``ThreadingFuture`` waits on a ``Condition`` (an ``RLock`` plus a lock allocated
per waiter, and an exception raised and caught on every ``get``). A reply is set once, by
one thread, and usually read once: a plain lock, taken at creation and released by
``set``, is all it needs, and the cheapest wake-up CPython has. Every ask of a
supervisor or of a supervised actor goes through one (issue 22: supervision at the pykka
floor). Behaviour is pykka's: ``get`` may be called many times and by many threads,
``Timeout`` on timeout, a second ``set`` raises ``queue.Full``, and ``map``/``join``/
``filter``/``reduce`` work through pykka's get hook.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import TYPE_CHECKING, Any

from pykka import Future, Timeout

if TYPE_CHECKING:
    from pykka._future import GetHookFunc
    from pykka._types import OptExcInfo

__all__ = ["ReplyFuture"]


class ReplyFuture(Future[Any]):
    """A pykka ``Future`` set once, read through a lock released when it is set."""

    def __init__(self) -> None:
        super().__init__()
        self._ready = threading.Lock()
        self._ready.acquire()  # held until the value (or a get hook) is set
        self._value: Any = None
        self._exc_info: OptExcInfo | None = None
        self._done = False

    def get(self, *, timeout: float | None = None) -> Any:
        if not self._done and self._get_hook is None:
            wait = -1 if timeout is None else min(max(0.0, timeout), threading.TIMEOUT_MAX)
            if not self._ready.acquire(timeout=wait):
                raise Timeout(f"{timeout} seconds")
            self._ready.release()  # let every later or concurrent get through
        if self._get_hook is not None:
            return super().get(timeout=timeout)
        exc_info = self._exc_info
        if exc_info is not None:
            exc_type, exc_value, exc_traceback = exc_info
            assert exc_type is not None
            if exc_value is None:
                exc_value = exc_type()
            if exc_value.__traceback__ is not exc_traceback:
                raise exc_value.with_traceback(exc_traceback)
            raise exc_value
        return self._value

    def _check_unset(self) -> None:
        if self._done or self._get_hook is not None:
            raise queue.Full

    def set(self, value: Any = None) -> None:
        self._check_unset()
        self._value = value
        self._done = True  # after the value: a get that sees it done reads it at once
        self._ready.release()

    def set_exception(self, exc_info: OptExcInfo | None = None) -> None:
        assert exc_info is None or len(exc_info) == 3
        self._check_unset()
        self._exc_info = sys.exc_info() if exc_info is None else exc_info
        self._done = True
        self._ready.release()

    def set_get_hook(self, func: GetHookFunc[Any]) -> None:
        if self._done:
            raise queue.Full
        super().set_get_hook(func)
        self._ready.release()
