"""Shared fixtures: quiet structured logs, a thread-leak check, and the PostgreSQL URL."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
import structlog

from supervisors.testing import wait_for

POSTGRES_URL = os.environ.get(
    "FLOWSTONE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pytest_configure(config: pytest.Config) -> None:
    # The library never configures logging; the test run keeps it quiet on purpose.
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())


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
