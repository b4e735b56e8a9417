"""Shared fixtures: quiet structured logs, a thread-leak check, and the test databases.

PostgreSQL tests get a fresh database (``CREATE DATABASE <prefix><uuid>`` on an AUTOCOMMIT
connection, dropped ``WITH (FORCE)`` afterwards) from ``fresh_postgres_database``, so no
test ever sees another test's rows; the job tests override ``postgres_database`` with one
emptied database per session.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import structlog

from supervisors.testing import wait_for

POSTGRES_URL = os.environ.get(
    "FLOWSTONE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow (stress tests)")


def pytest_configure(config: pytest.Config) -> None:
    # The library never configures logging; the test run keeps it quiet on purpose.
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stress tests (``@pytest.mark.slow``) run in CI and on request, not on every local run."""
    if config.getoption("--run-slow") or os.environ.get("FLOWSTONE_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="a slow stress test: run with --run-slow or FLOWSTONE_RUN_SLOW=1 (CI)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    """Every thread a test starts must be stopped and joined by the end of the test."""
    before = set(threading.enumerate())
    yield

    def leaked() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.is_alive()]

    try:
        wait_for(lambda: not leaked(), timeout=5.0, message="thread cleanup")
    except TimeoutError:
        names = ", ".join(sorted(t.name for t in leaked()))
        pytest.fail(f"threads leaked by this test: {names}")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a real PostgreSQL; skips (or fails in CI) when none answers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}"
        if os.environ.get("FLOWSTONE_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (FLOWSTONE_REQUIRE_POSTGRES=1)")
        pytest.skip(message + "; set FLOWSTONE_TEST_POSTGRES_URL to run these tests")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture(scope="session")
def fresh_postgres_database(postgres_url: str) -> Callable[..., AbstractContextManager[str]]:
    """``with fresh_postgres_database(prefix="fs_") as url``: the URL of a new, empty
    PostgreSQL database named ``<prefix><uuid>``, dropped ``WITH (FORCE)`` when the block ends."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    @contextmanager
    def fresh(prefix: str = "fs_") -> Iterator[str]:
        name = f"{prefix}{uuid.uuid4().hex}"
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    return fresh


@pytest.fixture
def postgres_database(fresh_postgres_database: Callable[..., AbstractContextManager[str]]) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in the test's temporary directory (created by the store)."""
    return f"sqlite:///{tmp_path / 'flowstone.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh durable database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_database")
    return url
