"""``with store._write(...) as connection``: one transaction on one of the store's
engines, with driver errors translated into the store's own (``engine.translate``)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection

from flowstone._store.sql.engine import (
    Engines,
    Timeouts,
    is_connection_error,
    serialize,
    translate,
    unavailable,
)

__all__ = ["Transaction"]


class TransactionStore(Protocol):
    """What a transaction needs of its ``SQLStore`` (which imports this module): the URL
    its errors name, and the engines and timeouts as they are now."""

    url: str

    @property
    def engines(self) -> Engines: ...
    @property
    def timeouts(self) -> Timeouts: ...


class Transaction:
    """``with store._write(...) as connection``: one transaction, driver errors translated."""

    def __init__(self, store: TransactionStore, engine: Any, doing: str) -> None:
        self._store = store
        self._engine = engine
        self._doing = doing
        self._context: Any = None
        self._serial: Any = None

    def __enter__(self) -> Connection:
        self._serial = serialize(self._store.engines, self._engine, self._store.timeouts.statement)
        try:
            with translate(self._store.url, self._doing):
                self._context = self._engine.begin()
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
        if exc is not None and is_connection_error(exc):
            # The connection broke inside the transaction (it has been rolled back).
            raise unavailable(self._store.url, exc, self._doing) from exc
        return suppressed
