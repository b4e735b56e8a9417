"""Fixtures for the scatter tests: a node on each kind of store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

import flowstone as fs


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str | None:
    """None (memory), a SQLite file or a fresh PostgreSQL database."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    return url


@pytest.fixture
def any_node(database: str | None) -> Iterator[fs.Node]:
    """A node with four runners on each kind of store, stopped after the test."""
    with fs.start(database_url=database, max_concurrency=4) as node:
        yield node


@pytest.fixture
def count_rows() -> Iterator[Any]:
    """``count_rows(url, table)``: the table's rows, read with a plain engine."""
    engines: dict[str, Engine] = {}

    def count(url: str, table: str) -> int:
        engine = engines.get(url)
        if engine is None:
            engine = engines[url] = create_engine(url)
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

    yield count
    for engine in engines.values():
        engine.dispose()
