"""Helpers for the job tests: direct SQL on the test database, worker subprocesses, files."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import Engine

import flowstone as fs
from flowstone._store.sql.schema import jobs as jobs_table
from flowstone._store.sql.schema import nodes as nodes_table
from supervisors.testing import wait_for

__all__ = ["LONG_AGO", "Database", "StartNode", "StartWorker", "Worker", "lines", "stays"]

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
StartNode = Callable[..., fs.Node]


class Database:
    """Direct SQL on the test's database, beside the node's own connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url)
        return self._engine

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(sql), params)

    def backdate(self, job_id: int, column: str, moment: datetime = LONG_AGO) -> None:
        """Set a timestamp column of a job (typed by the schema, so both dialects agree)."""
        with self.engine.begin() as connection:
            connection.execute(update(jobs_table).where(jobs_table.c.id == job_id).values({column: moment}))

    def add_node(self, node_id: str, heartbeat_at: datetime, **columns: Any) -> None:
        """A heartbeat row of a node that is not running here (typed, as ``backdate``)."""
        row = {
            "node_id": node_id,
            "name": node_id,
            "hostname": "elsewhere",
            "pid": 1,
            "started_at": heartbeat_at,
            "heartbeat_at": heartbeat_at,
            "queues": "{}",
            **columns,
        }
        with self.engine.begin() as connection:
            connection.execute(insert(nodes_table).values(row))

    def set_heartbeat(self, node_id: str, moment: datetime) -> None:
        """Move a node's last heartbeat, as if it had stopped heart-beating at ``moment``."""
        with self.engine.begin() as connection:
            connection.execute(
                update(nodes_table).where(nodes_table.c.node_id == node_id).values(heartbeat_at=moment)
            )

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


class Worker:
    """A ``python -m flowstone worker`` subprocess; its stderr goes to a file."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def terminate(self) -> None:
        """Ask the worker to drain and exit (SIGTERM), without waiting."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM, wait up to 10 s, then SIGKILL; always reaped."""
        self.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.wait(timeout=10)


StartWorker = Callable[..., Worker]


def lines(path: Path) -> list[str]:
    """The lines of a file an asset appends to (none if it does not exist yet)."""
    return path.read_text().splitlines() if path.exists() else []


def stays(predicate: Callable[[], object], within: float = 0.4) -> bool:
    """True if ``predicate`` never holds within ``within`` seconds: a bounded negative check
    (e.g. a paused queue claims nothing over several poll intervals)."""
    try:
        wait_for(predicate, timeout=within, message="change")
    except TimeoutError:
        return True
    return False
