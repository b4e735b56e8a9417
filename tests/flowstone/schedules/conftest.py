"""Fixtures for the schedule tests: a node factory on memory, SQLite or PostgreSQL, a
shared manual clock, and a recorder of runs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import flowstone as fs
from flowstone.testing import ManualClock

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from schedule_pipelines import Recorder  # noqa: E402 - importable once HERE is on sys.path

StartNode = Callable[..., fs.Node]
START = datetime(2026, 1, 5, 5, 30, tzinfo=UTC)  # a Monday, half an hour before 06:00


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None (a memory node), or the URL of a fresh SQLite or PostgreSQL database."""
    if request.param == "memory":
        return None
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_database"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def start_node(clock: ManualClock, recorder: Recorder) -> Iterator[Callable[..., fs.Node]]:
    """``start_node(url, **options)``: a node on the manual clock (with a queue when it
    has a database), stopped after the test."""
    started: list[fs.Node] = []

    def start(url: str | None, **options: Any) -> fs.Node:
        settings: dict[str, Any] = {
            "database_url": url,
            "clock": clock,
            "resources": {"recorder": recorder},
            "poll_interval": 0.05,
            "shutdown_grace": 2.0,
            **({"queues": {"assets": 2}} if url is not None else {}),
            **options,
        }
        node = fs.start(**settings)
        started.append(node)
        return node

    yield start
    for node in reversed(started):
        node.stop()
