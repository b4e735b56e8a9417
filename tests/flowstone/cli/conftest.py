"""Fixtures for the command-line tests: real ``python -m flowstone`` subprocesses.

Every test works in its own temporary directory (the cwd of every subprocess, so the
embedded default store lands in ``tmp_path/.flowstone/flowstone.db``), with a pipeline
file written there. PostgreSQL tests get a fresh database each (``CREATE DATABASE
fs_<uuid>``, dropped ``WITH (FORCE)`` afterwards: ``postgres_database`` of ``tests/conftest.py``).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import flowstone as fs

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from cli_support import (  # noqa: E402 - importable only once HERE is on sys.path
    COMMAND_TIMEOUT,
    PIPELINE_SOURCE,
    Database,
    Flowstone,
    StartWorker,
    Worker,
    child_env,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``tmp_path`` holding ``pipe.py`` (the target ``pipe.py:pipeline``)."""
    (tmp_path / "pipe.py").write_text(PIPELINE_SOURCE)
    return tmp_path


@pytest.fixture
def flowstone(project: Path) -> Flowstone:
    """``flowstone(*args, env=None)``: run the command in the project directory."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowstone", *args],
            cwd=project,
            env=env or child_env(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    return run


@pytest.fixture
def imported(project: Path) -> Iterator[ModuleType]:
    """The pipeline module under a unique name, imported by this process and by workers.

    Jobs name their pipeline ``module:attribute``, so the test (which submits) and the
    worker (which imports) must agree on the module name.
    """
    name = f"cli_pipe_{uuid.uuid4().hex[:12]}"
    (project / f"{name}.py").write_text(PIPELINE_SOURCE)
    sys.path.insert(0, str(project))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(project))
        sys.modules.pop(name, None)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, project: Path) -> Database:
    """The embedded SQLite default of the project directory, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return Database(f"sqlite:///{project / '.flowstone' / 'flowstone.db'}", ())
    url: str = request.getfixturevalue("postgres_database")
    return Database(url, ("--database-url", url))


@pytest.fixture
def sqlite_database(project: Path) -> Database:
    """The embedded SQLite default of the project directory only."""
    return Database(f"sqlite:///{project / '.flowstone' / 'flowstone.db'}", ())


@pytest.fixture
def start_node() -> Iterator[Callable[[str], fs.Node]]:
    """``start_node(url)``: an in-process node without queues (it only submits and reads)."""
    started: list[fs.Node] = []

    def start(url: str) -> fs.Node:
        node = fs.start(database_url=url, name="cli-test")
        started.append(node)
        return node

    yield start
    for node in reversed(started):
        node.stop()


@pytest.fixture
def start_worker(project: Path) -> Iterator[StartWorker]:
    """``start_worker(module, *args, database=...)``: a worker importing ``module`` from the
    project directory. After the test the release file is created (no blocked asset) and
    every worker is terminated, killed if need be, and waited for."""
    workers: list[Worker] = []

    def start(module: str, *args: str, database: Database) -> Worker:
        log = project / f"worker-{len(workers)}.log"
        command = [
            sys.executable,
            "-m",
            "flowstone",
            "worker",
            "--import",
            module,
            *database.args,
            *args,
        ]
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                command,
                cwd=project,
                env=child_env(PYTHONPATH=str(project)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        worker = Worker(process, log)
        workers.append(worker)
        return worker

    yield start
    (project / "release").touch()
    for worker in workers:
        worker.stop()
