"""A silent or stuck database: connecting and statements give up after their timeouts."""

from __future__ import annotations

import contextlib
import math
import socket
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import flowstone as fs
from flowstone._store.sql import SQLStore

MIGRATION_LOCK = 0x466C6F7753746F6E  # the advisory lock key of flowstone/_store/sql/migrate.py


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def counter() -> fs.Pipeline:
    pipeline = fs.Pipeline("timeouts")

    @pipeline.asset
    def value(ctx: fs.Context) -> int:
        return int(ctx.partition)

    return pipeline


class TestConnectTimeout:
    @pytest.mark.timeout(30)
    def test_start_against_a_database_that_never_answers_fails_within_connect_timeout(
        self, silent_port: int
    ) -> None:
        url = f"postgresql+psycopg://postgres:secret@127.0.0.1:{silent_port}/test"
        started = time.monotonic()
        with pytest.raises(fs.StoreUnavailableError) as caught:
            fs.start(database_url=url, connect_timeout=2.0)
        assert time.monotonic() - started < 2.0 + 1.5
        message = str(caught.value)
        assert "timeout" in message.lower()
        assert f"127.0.0.1:{silent_port}" in message
        assert "secret" not in message

    def test_the_defaults_are_ten_seconds_to_connect_and_thirty_for_a_statement(self) -> None:
        config = fs.NodeConfig()
        assert (config.connect_timeout, config.statement_timeout) == (10.0, 30.0)

    @pytest.mark.parametrize("name", ["connect_timeout", "statement_timeout"])
    @pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, True, "10"])
    def test_a_timeout_that_is_not_a_positive_number_of_seconds_is_refused(self, name: str, bad: Any) -> None:
        with pytest.raises((ValueError, TypeError), match=name):
            fs.NodeConfig(**{name: bad})


@contextlib.contextmanager
def lock_held_by_another_client(url: str) -> Iterator[None]:
    """Another client holds the lock every run needs: SQLite's write lock, or on
    PostgreSQL an exclusive lock on the runs table."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("LOCK TABLE flowstone_runs IN ACCESS EXCLUSIVE MODE"))
            yield
            connection.rollback()
    finally:
        engine.dispose()


class TestStatementTimeout:
    @pytest.mark.timeout(60)
    def test_a_run_blocked_by_another_client_fails_with_store_unavailable_within_the_timeout(
        self, database_url: str
    ) -> None:
        pipeline = counter()
        with fs.start(database_url=database_url, statement_timeout=0.5) as node:
            with lock_held_by_another_client(database_url):
                started = time.monotonic()
                with pytest.raises((fs.StoreUnavailableError, fs.MaterializationError)) as caught:
                    node.run(pipeline, "value", partition=1)
                assert time.monotonic() - started < 0.5 + 2.0
            assert node.run(pipeline, "value", partition=2) == 2  # works again once released
        error = caught.value
        cause = error if isinstance(error, fs.StoreUnavailableError) else error.__cause__
        assert isinstance(cause, fs.StoreUnavailableError)
        assert "statement_timeout" in str(cause)

    @pytest.mark.timeout(60)
    def test_a_start_that_must_wait_for_another_clients_migration_lock_fails_within_the_timeout(
        self, database_url: str
    ) -> None:
        with migration_lock_held_by_another_client(database_url):
            started = time.monotonic()
            with pytest.raises(fs.StoreUnavailableError, match="statement_timeout"):
                fs.start(database_url=database_url, statement_timeout=0.5)
            assert time.monotonic() - started < 0.5 + 2.0


@contextlib.contextmanager
def migration_lock_held_by_another_client(url: str) -> Iterator[None]:
    """An empty database whose migration lock another client holds: SQLite's write lock
    (on a file already in WAL mode), or PostgreSQL's advisory lock."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            yield
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    finally:
        engine.dispose()


class TestPostgresConnections:
    def test_every_pooled_connection_has_the_statement_and_socket_timeouts(
        self, postgres_database: str
    ) -> None:
        store = SQLStore(postgres_database, connect_timeout=3.0, statement_timeout=1.5)
        store.open()
        try:
            for engine in (store.engines.read, store.engines.write):
                with engine.connect() as connection:
                    assert connection.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
                    parameters = connection.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
                    assert parameters["connect_timeout"] == "3"
                    assert parameters["tcp_user_timeout"] == "1500"  # a network that drops packets
                    assert parameters["keepalives"] == "1"
        finally:
            store.close()
