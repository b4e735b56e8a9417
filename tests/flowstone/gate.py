"""``Gate``: holds assets inside their run until the test opens it, and counts who entered."""

from __future__ import annotations

import threading

__all__ = ["Gate"]


class Gate:
    """Assets call ``passes()``; the test waits for ``entered`` and then ``open()``s it.

    A gate that is never opened fails the asset after ``limit`` seconds instead of
    blocking a runner (and the node's stop) forever.
    """

    def __init__(self, *, opened: bool = False, limit: float = 10.0) -> None:
        self._opened = threading.Event()
        if opened:
            self._opened.set()
        self._limit = limit
        self._changed = threading.Condition()
        self.entered = 0

    def passes(self) -> None:
        with self._changed:
            self.entered += 1
            self._changed.notify_all()
        if not self._opened.wait(self._limit):
            raise TimeoutError(f"the test never opened the gate within {self._limit} s")

    def wait_entered(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` assets in all have entered; ``TimeoutError`` otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.entered >= count, timeout):
                raise TimeoutError(f"{self.entered} of {count} assets entered the gate in {timeout} s")

    def open(self) -> None:
        self._opened.set()

    def close(self) -> None:
        self._opened.clear()
