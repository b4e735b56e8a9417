"""Logging the host did not ask for stays quiet: alembic below WARNING during auto-migration.

A node starting on SQLite migrates its schema; alembic logs each step at INFO
("Context impl SQLiteImpl.", "Running upgrade ..."), which a host with
``logging.basicConfig(level=logging.INFO)`` would see on every start. The migration is
an internal detail of starting a node, so for its duration alembic's loggers are held at
WARNING (warnings and errors still pass). The library's own events are routed to stdlib
logging by ``supervisors._stdlib_log``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_alembic"]

_lock = threading.Lock()
_holders = 0
_saved_level = logging.NOTSET


@contextmanager
def quiet_alembic() -> Iterator[None]:
    """Hold the ``alembic`` logger at WARNING or above while the block runs.

    Nested and concurrent uses (two stores migrating at once) share one hold: the
    level the host set is put back when the last one leaves.
    """
    global _holders, _saved_level  # one hold shared by every migrating thread
    alembic = logging.getLogger("alembic")
    with _lock:
        if _holders == 0:
            _saved_level = alembic.level
            if alembic.getEffectiveLevel() < logging.WARNING:
                alembic.setLevel(logging.WARNING)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                alembic.setLevel(_saved_level)
