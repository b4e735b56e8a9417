"""SQLite: the write engine's one connection kept checked out, for ``DriverTransaction``.

A process's SQLite writes take turns (``Engines.serial``), so the thread holding that lock
can use one connection kept out of the pool: the pool's checkout and checkin (events,
reset, queue) cost as much Python as two of a completion's statements. A write that
fails gives the connection back (``drop``), and the next takes a fresh one.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine

__all__ = ["CLOSE_WAIT_S", "HeldConnection"]

#: How long closing the store waits for a write under way to finish with the connection.
CLOSE_WAIT_S = 5.0


class HeldConnection:
    """One pooled connection of ``engine``, for the holder of ``serial`` alone."""

    def __init__(self, engine: Engine, serial: threading.RLock) -> None:
        self._engine = engine
        self._serial = serial
        self._pooled: Any = None

    def get(self) -> Any:
        """The held pooled connection (checked out on first use); only holding ``serial``."""
        if self._pooled is None:
            self._pooled = self._engine.raw_connection()
        return self._pooled

    def drop(self) -> None:
        """Give the connection back to its pool; only holding ``serial``."""
        pooled, self._pooled = self._pooled, None
        if pooled is not None:
            pooled.close()

    def close(self) -> None:
        """Give it back before the pool is disposed, once a write under way is done. A
        writer stuck past ``CLOSE_WAIT_S`` keeps it: the connection is then closed when
        garbage collected, rather than the close waiting for it."""
        if self._serial.acquire(timeout=CLOSE_WAIT_S):
            try:
                self.drop()
            finally:
                self._serial.release()
