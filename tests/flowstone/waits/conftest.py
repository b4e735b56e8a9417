"""Fixtures for the wait tests: nodes on memory, SQLite and PostgreSQL, and helpers.

``wait_pipelines`` (next to this file) is put on ``sys.path`` here, and on ``PYTHONPATH``
for other processes, so that a node that did not run a pipeline can import it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import flowstone as fs
from supervisors.testing import wait_for

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from wait_pipelines import Calls  # noqa: E402 - importable only once HERE is on sys.path
from wait_support import SECRET, TICK, Background  # noqa: E402


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """None for memory, else a fresh database."""
    if backend == "memory":
        return None
    fixture = "sqlite_url" if backend == "sqlite" else "postgres_database"
    found: str = request.getfixturevalue(fixture)
    return found


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def start_node(
    url: str | None, calls: Calls, background: Callable[[Callable[[], Any]], Background]
) -> Iterator[Callable[..., fs.Node]]:
    """``start_node(**options)``: a node on the test's backend, stopped after the test."""
    started: list[fs.Node] = []

    def start(**options: Any) -> fs.Node:
        resources = {"calls": calls, **options.pop("resources", {})}
        options.setdefault("database_url", url)
        options.setdefault("wait_tick", TICK)
        options.setdefault("signal_secret", SECRET)
        node = fs.start(resources=resources, **options)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def background() -> Iterator[Callable[[Callable[[], Any]], Background]]:
    made: list[Background] = []

    def start(fn: Callable[[], Any]) -> Background:
        made.append(Background(fn))
        return made[-1]

    yield start
    for item in made:
        item._thread.join(30)


@pytest.fixture
def park(background: Callable[[Callable[[], Any]], Background]) -> Callable[..., Background]:
    """``park(node, pipeline, asset, **run_options)``: start a run and return once it waits.

    The ``node.run`` call goes on in a thread (its ``Background``): it returns when the run
    ends, or raises when its node stops.
    """

    def start(node: fs.Node, pipeline: fs.Pipeline, asset: str, **options: Any) -> Background:
        before = {g.id for g in node.gates(state=None)} | {a.id for a in node.approvals(state=None)}
        running = background(lambda: node.run(pipeline, asset, **options))

        def waiting() -> bool:
            seen = {g.id for g in node.gates(state=None)} | {a.id for a in node.approvals(state=None)}
            partition = options.get("partition")
            states = {node.status(pipeline, name, partition).state for name in pipeline.closure(asset)}
            return bool(seen - before) and "waiting" in states

        wait_for(waiting, timeout=15, message=f"{asset} waiting")
        return running

    return start
