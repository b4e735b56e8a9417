"""Migrations: the same schema from empty on SQLite and PostgreSQL, applied exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import flowstone as fs
from flowstone._store.sql import migrate
from flowstone._store.sql.engine import create_engines
from flowstone._store.sql.schema import metadata

TABLES = {
    "flowstone_runs",
    "flowstone_materializations",
    "flowstone_lineage",
    "flowstone_values",
    "flowstone_audit_log",
}


def schema_diff(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": migrate.VERSION_TABLE, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))


class TestUpgradeFromEmpty:
    def test_upgrade_creates_exactly_the_modelled_schema(self, database_url: str) -> None:
        engines = create_engines(database_url)
        try:
            assert migrate.current_revision(engines.write) is None
            assert migrate.upgrade(engines.write) is True
            assert schema_diff(engines.read) == []
            names = set(inspect(engines.read).get_table_names())
            assert names == {*metadata.tables, migrate.VERSION_TABLE}
            assert names >= TABLES
        finally:
            engines.dispose()

    def test_the_version_table_is_at_head(self, database_url: str, query: Callable[..., list[Any]]) -> None:
        engines = create_engines(database_url)
        try:
            migrate.upgrade(engines.write)
            assert migrate.current_revision(engines.read) == migrate.head_revision()
        finally:
            engines.dispose()
        rows = query(database_url, f"SELECT version_num FROM {migrate.VERSION_TABLE}")
        assert [r[0] for r in rows] == [migrate.head_revision()]

    def test_the_materializations_key_is_unique(self, database_url: str) -> None:
        engines = create_engines(database_url)
        try:
            migrate.upgrade(engines.write)
            unique = inspect(engines.read).get_unique_constraints("flowstone_materializations")
            columns = [tuple(u["column_names"]) for u in unique]
            assert ("pipeline", "asset", "partition_key", "run_id") in columns
        finally:
            engines.dispose()

    def test_a_second_upgrade_changes_nothing(self, database_url: str) -> None:
        engines = create_engines(database_url)
        try:
            assert migrate.upgrade(engines.write) is True
            assert migrate.upgrade(engines.write) is False
            assert schema_diff(engines.read) == []
        finally:
            engines.dispose()

    def test_a_node_migrates_a_fresh_database_when_it_starts(self, database_url: str) -> None:
        with fs.start(database_url=database_url) as node:
            assert node.health().status == "ok"
        engines = create_engines(database_url)
        try:
            assert migrate.current_revision(engines.read) == migrate.head_revision()
            assert schema_diff(engines.read) == []
        finally:
            engines.dispose()


class TestConcurrentUpgrade:
    @pytest.mark.timeout(60)
    def test_four_nodes_migrating_at_once_migrate_exactly_once(self, database_url: str) -> None:
        parties = 4
        barrier = threading.Barrier(parties, timeout=30)
        results: list[bool] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        all_engines = [create_engines(database_url) for _ in range(parties)]

        def migrate_one(index: int) -> None:
            try:
                barrier.wait()
                migrated = migrate.upgrade(all_engines[index].write)
                with lock:
                    results.append(migrated)
            except BaseException as exc:  # noqa: BLE001 - collected and checked below
                with lock:
                    errors.append(exc)

        threads = [
            threading.Thread(target=migrate_one, args=(i,), name=f"migrate-{i}") for i in range(parties)
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=45)
            assert not any(t.is_alive() for t in threads)
            assert errors == []
            assert sorted(results) == [False, False, False, True]
            assert schema_diff(all_engines[0].read) == []
            assert migrate.current_revision(all_engines[0].read) == migrate.head_revision()
        finally:
            for engines in all_engines:
                engines.dispose()


def stamp(url: str, revision: str) -> None:
    """Set the database's recorded revision, as another FlowStone version would have."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def recorded_revision(url: str) -> str | None:
    engines = create_engines(url)
    try:
        return migrate.current_revision(engines.read)
    finally:
        engines.dispose()


class TestSchemaOfAnotherVersion:
    @pytest.fixture
    def newer(self, database_url: str) -> str:
        """A database migrated by a newer FlowStone: its revision is 0099."""
        with fs.start(database_url=database_url):
            pass
        stamp(database_url, "0099")
        return database_url

    @pytest.mark.parametrize("auto_migrate", [True, False], ids=["auto_migrate", "no auto_migrate"])
    def test_start_on_a_newer_schema_raises_schema_version_error_saying_upgrade_flowstone(
        self, newer: str, auto_migrate: bool
    ) -> None:
        with pytest.raises(fs.SchemaVersionError) as caught:
            fs.start(database_url=newer, auto_migrate=auto_migrate)
        error = caught.value
        assert isinstance(error, fs.StoreUnavailableError)  # the store cannot be used
        head = migrate.head_revision()
        assert f"migrated by a newer FlowStone (0099 > {head}): upgrade FlowStone" in str(error)
        assert (error.current, error.head) == ("0099", head)

    @pytest.mark.parametrize("auto_migrate", [True, False], ids=["auto_migrate", "no auto_migrate"])
    def test_a_refused_start_leaves_the_newer_schema_alone(self, newer: str, auto_migrate: bool) -> None:
        before = schema_diff_of(newer)
        with pytest.raises(fs.SchemaVersionError):
            fs.start(database_url=newer, auto_migrate=auto_migrate)
        assert recorded_revision(newer) == "0099"
        assert schema_diff_of(newer) == before

    def test_an_unknown_revision_is_refused_by_name(self, database_url: str) -> None:
        with fs.start(database_url=database_url):
            pass
        stamp(database_url, "a1b2c3")
        with pytest.raises(fs.SchemaVersionError, match="'a1b2c3', which this FlowStone does not know"):
            fs.start(database_url=database_url)

    def test_without_auto_migrate_an_older_schema_is_refused_with_the_command_that_fixes_it(
        self, database_url: str
    ) -> None:
        engines = create_engines(database_url)
        try:
            with engines.write.begin() as connection:
                command.upgrade(migrate.alembic_config(connection), "0001")
        finally:
            engines.dispose()
        with pytest.raises(fs.SchemaVersionError, match="flowstone db upgrade") as caught:
            fs.start(database_url=database_url, auto_migrate=False)
        assert caught.value.current == "0001"
        assert recorded_revision(database_url) == "0001"
        with fs.start(database_url=database_url) as node:  # auto_migrate brings it to head
            assert node.health().status == "ok"

    def test_without_auto_migrate_an_empty_database_is_refused(self, database_url: str) -> None:
        with pytest.raises(fs.SchemaVersionError, match="no FlowStone schema") as caught:
            fs.start(database_url=database_url, auto_migrate=False)
        assert caught.value.current is None

    def test_without_auto_migrate_a_current_schema_starts(self, database_url: str) -> None:
        with fs.start(database_url=database_url):
            pass
        with fs.start(database_url=database_url, auto_migrate=False) as node:
            assert node.health().status == "ok"


def schema_diff_of(url: str) -> list[str]:
    """The tables and columns of the database, to show that nothing changed."""
    engines = create_engines(url)
    try:
        inspector = inspect(engines.read)
        return sorted(
            f"{table}.{column['name']}"
            for table in inspector.get_table_names()
            for column in inspector.get_columns(table)
        )
    finally:
        engines.dispose()
