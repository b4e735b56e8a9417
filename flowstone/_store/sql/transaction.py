"""``with store._write(...) as connection``: one transaction on one of the store's
engines, with driver errors translated into the store's own (``engine.translate``);
on SQLite, also one on the driver's connection directly (``DriverTransaction``)."""

from __future__ import annotations

import sqlite3
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from flowstone._store.sql.checkpoint import Checkpointer
from flowstone._store.sql.engine import (
    Engines,
    Timeouts,
    is_connection_error,
    serialize,
    translate,
    unavailable,
)

__all__ = ["DriverTransaction", "Transaction"]


class TransactionStore(Protocol):
    """What a transaction needs of its ``SQLStore`` (which imports this module): the URL
    its errors name, and the engines and timeouts as they are now."""

    url: str

    @property
    def engines(self) -> Engines: ...
    @property
    def timeouts(self) -> Timeouts: ...


class Transaction:
    """``with store._write(...) as connection``: one transaction, driver errors translated.

    On a pool in autocommit mode (``Engines.autocommit``: PostgreSQL's ``read``, ``single``
    and ``claims``) it is ``engine.connect()``, not ``begin()``: each statement there
    commits on its own whatever SQLAlchemy thinks, so its ``BEGIN``/``COMMIT``
    bookkeeping (a root transaction, its events, a driver ``commit()`` that does nothing)
    only cost CPU: an empty one took 43–47 µs of CPU, now 24–27 (issue 22). Multi-statement
    transactions use the write pool, which keeps ``begin()``.
    """

    def __init__(self, store: TransactionStore, engine: Any, doing: str) -> None:
        self._store = store
        self._engine = engine
        self._doing = doing
        self._context: Any = None
        self._serial: Any = None
        self._checkpointer: Checkpointer | None = None

    def __enter__(self) -> Connection:
        engines = self._store.engines
        self._serial = serialize(engines, self._engine, self._store.timeouts.statement)
        self._checkpointer = engines.checkpointer if self._engine is engines.write else None
        try:
            with translate(self._store.url, self._doing):
                bare = self._engine in engines.autocommit
                self._context = self._engine.connect() if bare else self._engine.begin()
                connection: Connection = self._context.__enter__()
                return connection
        except BaseException:
            if self._serial is not None:
                self._serial.release()
            raise

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        try:
            with translate(self._store.url, self._doing):
                suppressed = bool(self._context.__exit__(exc_type, exc, traceback))
        finally:
            if self._serial is not None:
                self._serial.release()
        if exc is None and self._checkpointer is not None:  # a SQLite write committed
            self._checkpointer.committed()
        if exc is not None and is_connection_error(exc):
            # The connection broke inside the transaction (it has been rolled back).
            raise unavailable(self._store.url, exc, self._doing) from exc
        return suppressed


class DriverTransaction:
    """SQLite: ``with store._driver_write(...) as connection``, a write transaction on the
    ``sqlite3`` connection itself, for statements run by the driver (``driver.run``).

    ``Transaction`` on SQLite's write engine cost 53 µs of CPU for an empty transaction
    (a SQLAlchemy ``Connection`` and its transaction, their events, the translations),
    against 12 µs for the pool's checkout, ``BEGIN IMMEDIATE``, ``COMMIT`` and checkin: as
    much as all of a completion's statements. Holding the process's write lock
    (``Engines.serial``), it uses the write engine's one held connection
    (``held.py``), skipping the pool's checkout and checkin too; without the
    lock (a wait past the timeout) a pooled one. The error translation is
    ``Transaction``'s: a driver error is raised as SQLAlchemy would raise it
    (``DBAPIError.instance``), a connection error as ``StoreUnavailableError``.
    """

    def __init__(self, store: TransactionStore, doing: str) -> None:
        self._store = store
        self._doing = doing
        self._engines: Any = None
        self._pooled: Any = None
        self._held = False
        self._serial: Any = None
        self._checkpointer: Checkpointer | None = None

    def __enter__(self) -> sqlite3.Connection:
        engines = self._store.engines
        self._engines = engines
        self._serial = serialize(engines, engines.write, self._store.timeouts.statement)
        self._checkpointer = engines.checkpointer
        try:
            with translate(self._store.url, self._doing):
                if self._serial is not None and engines.held is not None:  # held: this thread alone writes
                    self._held = True
                    self._pooled = engines.held.get()
                else:
                    self._pooled = engines.write.raw_connection()
            connection: sqlite3.Connection = self._pooled.driver_connection
            self._driver(connection.execute, "BEGIN IMMEDIATE")
            return connection
        except BaseException:
            self._release(failed=True)
            raise

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        connection: sqlite3.Connection = self._pooled.driver_connection
        failed = exc is not None
        try:
            if exc is None:
                self._driver(connection.execute, "COMMIT")
            elif connection.in_transaction:
                connection.rollback()
        except BaseException:
            failed = True
            if connection.in_transaction:  # a failed COMMIT leaves the transaction open
                connection.rollback()
            raise
        finally:
            self._release(failed)
        if exc is None and self._checkpointer is not None:
            self._checkpointer.committed()
        if isinstance(exc, sqlite3.Error):  # a statement of the body failed
            raise self._translated(exc, None) from exc

    def _driver(self, call: Any, statement: str) -> None:
        try:
            call(statement)
        except sqlite3.Error as exc:
            raise self._translated(exc, statement) from exc

    def _translated(self, exc: sqlite3.Error, statement: str | None) -> BaseException:
        """The error SQLAlchemy would raise, or ``StoreUnavailableError`` as ``translate`` would."""
        wrapped = DBAPIError.instance(statement or "", None, exc, sqlite3.Error)
        if is_connection_error(wrapped):
            return unavailable(self._store.url, wrapped, self._doing)
        return wrapped

    def _release(self, failed: bool) -> None:
        """Give the connection back: the held one stays held unless something failed (a
        fresh one from the pool next time), a pooled one goes back to the pool."""
        try:
            if self._held:
                if failed:
                    self._engines.held.drop()
            elif self._pooled is not None:
                self._pooled.close()
        finally:
            self._pooled = None
            self._held = False
            if self._serial is not None:
                self._serial.release()
                self._serial = None
