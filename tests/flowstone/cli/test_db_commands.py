"""``flowstone db``: typed, one-line answers for a schema of another version or a corrupt file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Database, Flowstone
from sqlalchemy import create_engine, text

import flowstone as fs
from flowstone._store.sql import migrate


def stamp(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


class TestNewerSchema:
    @pytest.fixture
    def newer(self, database: Database) -> Database:
        with fs.start(database_url=database.url):
            pass
        stamp(database.url, "0099")
        return database

    def test_db_upgrade_refuses_with_schema_version_error_saying_upgrade_flowstone(
        self, flowstone: Flowstone, newer: Database
    ) -> None:
        result = flowstone("db", "upgrade", *newer.args)
        assert result.returncode == 1
        head = migrate.head_revision()
        assert result.stderr.startswith("error: SchemaVersionError: ")
        assert f"migrated by a newer FlowStone (0099 > {head}): upgrade FlowStone" in result.stderr
        assert "unexpected" not in result.stderr
        assert "Traceback" not in result.stderr

    def test_db_current_names_both_revisions_and_says_to_upgrade_flowstone(
        self, flowstone: Flowstone, newer: Database
    ) -> None:
        result = flowstone("db", "current", *newer.args)
        assert result.returncode == 1
        head = migrate.head_revision()
        assert result.stdout.startswith(f"current: 0099; newest: {head}")
        assert "migrated by a newer FlowStone" in result.stdout


@pytest.mark.parametrize("command", ["upgrade", "current"])
def test_db_commands_on_a_file_that_is_not_a_database_say_so_in_one_line(
    flowstone: Flowstone, sqlite_database: Database, project: Path, command: str
) -> None:
    path = project / ".flowstone" / "flowstone.db"
    path.parent.mkdir()
    path.write_text("not a database\n" * 100)
    result = flowstone("db", command, *sqlite_database.args)
    assert result.returncode == 1
    assert result.stderr.startswith("error: StoreUnavailableError: ")
    assert "not a database" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_text() == "not a database\n" * 100
