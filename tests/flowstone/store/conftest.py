"""Fixtures for the store tests: a fresh database per test, on SQLite and PostgreSQL.

Every PostgreSQL test gets its own database (``CREATE DATABASE fs_<uuid>``), dropped with
``WITH (FORCE)`` afterwards, so no test ever sees another test's rows: ``postgres_database``,
``sqlite_url`` and ``database_url`` come from ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.flowstone.store.tcp_proxy import TcpProxy


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the contract suite runs against."""
    kind: str = request.param
    return kind


@pytest.fixture
def store_url(store_kind: str, request: pytest.FixtureRequest) -> str | None:
    """The ``database_url`` for ``store_kind``: None for memory, else a fresh database."""
    if store_kind == "memory":
        return None
    if store_kind == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture
def query() -> Iterator[Callable[..., list[Any]]]:
    """``query(url, sql, **params)``: rows from a plain SQLAlchemy connection, not the store's."""
    engines: dict[str, Any] = {}

    def run(url: str, sql: str, **params: Any) -> list[Any]:
        engine = engines.get(url)
        if engine is None:
            engine = engines[url] = create_engine(url)
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())

    yield run
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    """A started ``TcpProxy`` to the test PostgreSQL server, stopped after the test."""
    target = make_url(postgres_url)
    started = TcpProxy((target.host or "127.0.0.1", target.port or 5432))
    started.start()
    try:
        yield started
    finally:
        started.stop()
