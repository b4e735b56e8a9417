"""SQLite: the WAL is copied back into the database file by a thread of its own, not by a commit.

SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages,
and with ``synchronous=NORMAL`` the checkpoint is where the disk flushes happen (the WAL,
then the database file). In a chain of small materializations (about nine pages per
commit) one commit in about 110 took 3–5 ms, on average 45 µs per materialization: half of
SQLite's own work per asset, on the thread running the chain.

So the store's write connections turn the automatic checkpoint off
(``wal_autocheckpoint=0``) and this thread runs a ``PASSIVE`` checkpoint, on a connection
of its own, every ``EVERY`` write commits of this process (``committed``) and every
``PERIOD_S`` seconds (for writes not counted, and the tail of a burst). A passive checkpoint
never blocks a writer or a reader; sqlite3 releases the GIL while it copies and flushes.
Durability is unchanged: a commit is durable once it is in the WAL, against a process
crash and not against power loss, as before; the checkpoint still flushes the WAL before
it copies pages from it. The thread is stopped and joined with the engines (``stop``).
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from supervisors._log import get_logger

__all__ = ["EVERY", "PERIOD_S", "Checkpointer", "connect_outside_pool"]

log = get_logger("flowstone")

#: Write commits between checkpoints: about 600 WAL pages for a chain's materializations,
#: under SQLite's own 1,000; a bigger WAL made every commit slower (its index is longer).
EVERY = 64
#: At most this long between checkpoints while the store is open.
PERIOD_S = 1.0


class Checkpointer:
    """Runs passive checkpoints of one SQLite file on a thread started here."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, every: int = EVERY) -> None:
        self._connect = connect
        self._every = every
        self._commits = 0  # since the last wake-up; a lost increment only delays one
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0  # done so far (read by tests)
        self._thread = threading.Thread(target=self._loop, name="flowstone-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A write transaction of this process committed."""
        self._commits += 1
        if self._commits >= self._every:
            self._commits = 0
            self._wake.set()

    @classmethod
    def of(cls, engine: Engine) -> Checkpointer:
        """A checkpointer of ``engine``'s file, on a connection of its own."""
        return cls(functools.partial(connect_outside_pool, engine))

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and wait for it (a checkpoint under way finishes first)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        connection: sqlite3.Connection | None = None
        failing = False
        try:
            while True:
                self._wake.wait(PERIOD_S)
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    if connection is None:
                        connection = self._connect()
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                    failing = False
                except sqlite3.Error as exc:  # busy, or a file that is not a database yet
                    if not failing:
                        log.warning("store.checkpoint_failed", error=str(exc))
                    failing = True
                    if connection is not None:
                        connection.close()
                    connection = None
        finally:
            if connection is not None:
                connection.close()


def connect_outside_pool(engine: Engine) -> sqlite3.Connection:
    """A driver connection to ``engine``'s file, outside its pool, that never waits for a lock."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    connection = sqlite3.connect(args[0], timeout=0.0, uri=bool(kwargs.get("uri", False)))
    connection.isolation_level = None
    return connection
