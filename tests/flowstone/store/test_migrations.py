"""Migrations: the same schema from empty on SQLite and PostgreSQL, applied exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

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
