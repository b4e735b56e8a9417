"""Fixtures for the store tests: a fresh database per test, on SQLite and PostgreSQL.

Every PostgreSQL test gets its own database (``CREATE DATABASE fs_<uuid>``), dropped with
``WITH (FORCE)`` afterwards, so no test ever sees another test's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    name = f"fs_{uuid.uuid4().hex}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


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
