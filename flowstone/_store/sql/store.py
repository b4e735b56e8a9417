"""``SQLStore``: records in SQLite or PostgreSQL through SQLAlchemy Core.

Every method is one transaction (``transaction.Transaction``). The writes of runs and
materializations are in ``runs``; waits, history and skips in their own mixins; this
module opens and closes the engines and reads materializations back.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, text

from flowstone._store.records import MaterializationRecord
from flowstone._store.sql import migrate, statements
from flowstone._store.sql.barrier import SQLBarrier
from flowstone._store.sql.engine import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_STATEMENT_TIMEOUT_S,
    Engines,
    Timeouts,
    create_engines,
    mask,
    translate,
)
from flowstone._store.sql.history import History, aware
from flowstone._store.sql.limits import SQLLimits
from flowstone._store.sql.overview import Overview
from flowstone._store.sql.runs import RunWrites
from flowstone._store.sql.schema import lineage, materializations
from flowstone._store.sql.skips import Skips
from flowstone._store.sql.transaction import DriverTransaction, Transaction
from flowstone._store.sql.values import SQLValues
from flowstone._store.sql.waiting import Waiting
from flowstone.codec import DEFAULT_MAX_VALUE_BYTES
from flowstone.errors import StoreUnavailableError
from supervisors._log import get_logger

__all__ = ["SQLStore"]

log = get_logger("flowstone")

M = materializations


class SQLStore(RunWrites, Waiting, History, Skips, Overview):
    """The durable store. ``open`` connects and (with ``auto_migrate``) migrates."""

    run_batch = 64  # a commit costs more than the rows of a small materialization

    def __init__(
        self,
        url: str,
        *,
        auto_migrate: bool = True,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.auto_migrate = auto_migrate
        self.max_value_bytes = max_value_bytes
        self.timeouts = Timeouts(connect=connect_timeout, statement=statement_timeout)
        self._lock = threading.Lock()
        self._engines: Engines | None = None
        self.barrier = SQLBarrier(self)  # scatters (issue 15), on the same engines
        self.limits = SQLLimits(self)  # rate= and concurrency= (issue 20)

    def __repr__(self) -> str:
        return f"SQLStore({mask(self.url)!r})"

    # --- lifecycle -------------------------------------------------------------------
    @property
    def engines(self) -> Engines:
        engines = self._engines
        if engines is None:
            raise StoreUnavailableError(f"the store at {mask(self.url)} is not open (is the node running?)")
        return engines

    def open(self) -> None:
        """Connect, then migrate the schema to the newest revision (``auto_migrate``) or
        check that it is there; on any failure nothing is left open.

        Raises:
            StoreUnavailableError: the database cannot be reached, or is not a database.
            SchemaVersionError: its schema is newer or unknown (or, without
                ``auto_migrate``, not the newest).
        """
        self.connect()
        engines = self.engines
        try:
            with translate(self.url, "open"):
                # Read first: a current schema, the usual case, is checked without the
                # migration lock (SQLite's write lock, PostgreSQL's advisory lock).
                if migrate.current_revision(engines.read) != migrate.head_revision():
                    if self.auto_migrate:
                        migrate.upgrade(engines.write, wait=self.timeouts.statement)
                    else:
                        migrate.check(engines.read)
        except BaseException:
            self.close()
            raise
        log.info("store.opened", url=mask(self.url))

    def connect(self) -> None:
        """Create the engines and reach the database, leaving its schema alone (``flowstone db``)."""
        with self._lock:
            if self._engines is None:
                self._engines = create_engines(self.url, self.timeouts)
        try:
            self._ping("open")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            engines, self._engines = self._engines, None
        if engines is not None:
            engines.dispose()

    def ping(self) -> None:
        self._ping("reach")

    def _ping(self, doing: str) -> None:
        with translate(self.url, doing), self.engines.read.connect() as connection:
            connection.execute(text("SELECT 1"))

    def values(self, format: str = "msgpack", max_value_bytes: int | None = None) -> SQLValues:
        """An IO manager keeping values in this store's database."""
        return SQLValues(self, format, max_value_bytes or self.max_value_bytes)

    def _write(self, doing: str) -> Any:
        return Transaction(self, self.engines.write, doing)

    def _read(self, doing: str) -> Any:
        return Transaction(self, self.engines.read, doing)

    def _driver_write(self, doing: str) -> Any:
        """SQLite: a write transaction on the driver's connection (``DriverTransaction``)."""
        return DriverTransaction(self, doing)

    def _single(self, doing: str) -> Any:
        """For one self-contained write statement (see ``Engines.single``)."""
        return Transaction(self, self.engines.single, doing)

    def _claims(self, doing: str) -> Any:
        """For one job claim: a lone statement whose commit need not reach the disk
        before the job starts (see ``Engines.claims``)."""
        return Transaction(self, self.engines.claims, doing)

    def latest(self, pipeline: str, asset: str, partition_key: str) -> MaterializationRecord | None:
        with self._read("read") as c:
            row = c.execute(
                statements.LATEST, {"b_pipeline": pipeline, "b_asset": asset, "b_key": partition_key}
            ).first()
        if row is None:
            return None
        return MaterializationRecord(
            row.pipeline,
            row.asset,
            row.partition_key,
            row.run_id,
            row.status,
            row.attempts,
            aware(row.started_at),
            aware(row.finished_at),
            row.error,
            row.duration_ms,
            row.code_version,
        )

    def completed(
        self, pipeline: str, partition_keys: Sequence[str], assets: Sequence[str]
    ) -> dict[str, set[str]]:
        latest: dict[tuple[str, str], str] = {}
        with self._read("read") as c:
            for k in range(0, len(partition_keys), statements.CHUNK):
                for a in range(0, len(assets), statements.CHUNK):
                    params = {
                        "b_pipeline": pipeline,
                        "b_keys": list(partition_keys[k : k + statements.CHUNK]),
                        "b_assets": list(assets[a : a + statements.CHUNK]),
                    }
                    for key, asset, status in c.execute(statements.STATUSES, params):
                        latest[key, asset] = status  # ordered by id: the last seen is the newest
        found: dict[str, set[str]] = {}
        for (key, asset), status in latest.items():
            if status == "completed":
                found.setdefault(key, set()).add(asset)
        return found

    def partition_states(self, pipeline: str, asset: str) -> dict[str, str]:
        with self._read("read") as c:
            rows = c.execute(statements.PARTITION_STATES, {"b_pipeline": pipeline, "b_asset": asset})
            return {key: status for key, status in rows}  # noqa: C416 - newest (last) wins

    def delete(self, pipeline: str, asset: str, partition_key: str) -> int:
        with self._write("delete from") as c:
            removed = c.execute(
                delete(M).where(
                    M.c.pipeline == pipeline, M.c.asset == asset, M.c.partition_key == partition_key
                )
            ).rowcount
            c.execute(
                delete(lineage).where(
                    lineage.c.pipeline == pipeline,
                    lineage.c.asset == asset,
                    lineage.c.partition_key == partition_key,
                )
            )
            return int(removed)

    def release(self, pipeline: str) -> None:
        pass  # durable: nothing is held in memory per pipeline
