"""Fixtures for the parallel-branch tests: a node on each store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import flowstone as fs

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the tests import their shared pipelines from here
    sys.path.insert(0, str(HERE))

TICK = 0.02  # how often a node looks for due timeouts: small, so that timeout tests are quick


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str | None:
    """None for memory, else a fresh database."""
    if request.param == "memory":
        return None
    found: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    return found


@pytest.fixture
def node(url: str | None) -> Iterator[fs.Node]:
    with fs.start(database_url=url, max_concurrency=4, wait_tick=TICK) as started:
        yield started
