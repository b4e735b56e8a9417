"""Fixtures for the job tests: fresh databases, nodes with a probe, worker subprocesses.

PostgreSQL tests share one database per session (``CREATE DATABASE fs_jobs_<uuid>``,
dropped ``WITH (FORCE)`` at the end) whose tables are emptied before each test; SQLite
tests get a new file each. ``job_pipelines`` and
``job_support`` (next to this file) are put on ``sys.path`` here, and on ``PYTHONPATH``
for worker subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import flowstone as fs
from flowstone._store.sql.schema import metadata

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from job_pipelines import Probe  # noqa: E402 - importable only once HERE is on sys.path
from job_support import Database, StartNode, StartWorker, Worker  # noqa: E402


@pytest.fixture(scope="session")
def postgres_session_database(
    fresh_postgres_database: Callable[..., AbstractContextManager[str]],
) -> Iterator[str]:
    """One PostgreSQL database for this test session, migrated once, dropped at the end."""
    with fresh_postgres_database(prefix="fs_jobs_") as url:
        fs.start(database_url=url).stop()  # migrate once
        yield url


@pytest.fixture
def postgres_database(postgres_session_database: str) -> str:
    """The session's PostgreSQL database, emptied: no test sees another test's rows.

    Creating a database per test (as the store tests do) costs ~1.3 s on this machine;
    emptying every FlowStone table costs milliseconds, and the job tests start no node
    that outlives its test, so nothing else is connected when it runs.
    """
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = create_engine(postgres_session_database)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
    finally:
        engine.dispose()
    return postgres_session_database


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def start_node(database_url: str, probe: Probe) -> Iterator[StartNode]:
    """``start_node(**options)``: a node on ``database_url`` with the probe as a resource.

    Fast defaults (poll 0.05 s, 2 s grace; rescue after 30 s, so maintenance
    ticks rarely: the rescue and prune tests pass 1 s) and no queues unless given,
    so a node only enqueues. Every node is stopped after the test, the probe's gate
    opened first so no job is left blocked.
    """
    started: list[fs.Node] = []

    def start(**options: Any) -> fs.Node:
        settings: dict[str, Any] = {
            "database_url": database_url,
            "resources": {"probe": probe},
            "poll_interval": 0.05,
            "rescue_after": 30.0,  # rescue and prune tests pass 1.0
            "shutdown_grace": 2.0,
            **options,
        }
        node = fs.start(**settings)
        started.append(node)
        return node

    yield start
    probe.gate.set()
    for node in reversed(started):
        node.stop()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """``start_worker(url, *extra_args)``: a worker process importing ``job_pipelines``.

    With ``url_from_env`` the URL is passed in ``FLOWSTONE_DATABASE_URL`` instead of
    ``--database-url``.

    Assets in it write to files under ``tmp_path`` (``FS_JOBS_DIR``). Every worker is
    terminated (then killed) and waited for after the test.
    """
    workers: list[Worker] = []

    def start(
        url: str, *args: str, queues: str = "assets=1", rescue_after: float = 1.0, url_from_env: bool = False
    ) -> Worker:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "FS_JOBS_DIR": str(tmp_path),
        }
        env.pop("FLOWSTONE_DATABASE_URL", None)
        if url_from_env:
            env["FLOWSTONE_DATABASE_URL"] = url
        log = tmp_path / f"worker-{len(workers)}.log"
        command = [
            sys.executable,
            "-m",
            "flowstone",
            "worker",
            "--queues",
            queues,
            *(() if url_from_env else ("--database-url", url)),
            "--import",
            "job_pipelines",
            "--rescue-after",
            str(rescue_after),
            *args,
        ]
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        worker = Worker(process, log)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.terminate()  # all drain at once
    for worker in workers:
        worker.stop()
