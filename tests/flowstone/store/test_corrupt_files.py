"""A SQLite file that is not a database: ``StoreUnavailableError`` at start, the file untouched."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import flowstone as fs


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real FlowStone SQLite database with a few values in it."""
    path = tmp_path_factory.mktemp("valid") / "flowstone.db"
    pipeline = fs.Pipeline("corrupt")

    @pipeline.asset
    def rows(ctx: fs.Context) -> list[int]:
        return list(range(2_000))

    with fs.start(database_url=f"sqlite:///{path}") as node:
        for day in range(20):
            node.run(pipeline, "rows", partition=day)
    return path.read_bytes()  # checkpointed by the clean stop


def random_bytes(valid: bytes) -> bytes:
    return os.urandom(16_384)


def text_file(valid: bytes) -> bytes:
    return b"day,orders\n2025-01-01,71\n" * 400


def truncated(valid: bytes) -> bytes:
    return valid[: len(valid) // 2]


def bad_header(valid: bytes) -> bytes:
    return b"NotSQLite fmt 3\x00" + valid[16:]  # the 16-byte magic string, wrong


@pytest.mark.parametrize(
    "spoil", [random_bytes, text_file, truncated, bad_header], ids=lambda f: f.__name__.replace("_", " ")
)
class TestCorruptSQLiteFile:
    @pytest.fixture
    def spoiled(self, tmp_path: Path, valid: bytes, spoil: Callable[[bytes], bytes]) -> tuple[Path, bytes]:
        """A database file whose content ``spoil`` made from a valid one."""
        content = spoil(valid)
        path = tmp_path / "flowstone.db"
        path.write_bytes(content)
        return path, content

    def test_start_raises_store_unavailable_naming_the_file_and_what_to_do(
        self, spoiled: tuple[Path, bytes]
    ) -> None:
        path, _ = spoiled
        with pytest.raises(fs.StoreUnavailableError) as caught:
            fs.start(database_url=f"sqlite:///{path}")
        message = str(caught.value)
        assert str(path) in message
        assert "not a database" in message or "malformed" in message
        assert "corrupt" in message
        assert "backup" in message

    def test_the_file_is_left_as_it_was(self, spoiled: tuple[Path, bytes]) -> None:
        path, content = spoiled
        with pytest.raises(fs.StoreUnavailableError):
            fs.start(database_url=f"sqlite:///{path}", auto_migrate=False)
        assert path.read_bytes() == content


def test_a_file_damaged_while_the_node_runs_fails_reads_with_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "flowstone.db"
    pipeline = fs.Pipeline("damaged")

    @pipeline.asset
    def rows(ctx: fs.Context) -> str:
        return "x" * 5_000

    with fs.start(database_url=f"sqlite:///{path}") as node:
        for day in range(100):
            node.run(pipeline, "rows", partition=day)
        with sqlite3.connect(path) as outside:  # move the WAL's pages into the file
            outside.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        outside.close()
        with path.open("r+b") as file:  # every page but the first (the header and schema)
            for offset in range(4096, path.stat().st_size, 4096):
                file.seek(offset)
                file.write(os.urandom(4096))
        with pytest.raises(fs.StoreUnavailableError, match="malformed") as caught:
            node.status(pipeline, "rows", partition=50)
        assert "backup" in str(caught.value)
        with pytest.raises(fs.StoreUnavailableError, match="malformed"):
            node.get(pipeline, "rows", partition=50)
