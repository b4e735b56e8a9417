"""The codec at the store boundary: bad values write nothing, fail clearly, and the node lives on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import flowstone as fs
from flowstone.io import AssetKey

DAY = "2025-01-01"


def unencodable_pipeline(good: list[bool]) -> fs.Pipeline:
    """``report`` returns a lambda inside its value until ``good[0]`` is set."""
    pipeline = fs.Pipeline("codec")

    @pipeline.asset
    def report(ctx: fs.Context) -> dict[str, object]:
        if good[0]:
            return {"callback": "fixed"}
        return {"callback": lambda: 1}

    @pipeline.asset
    def other(ctx: fs.Context) -> int:
        return 7

    return pipeline


@pytest.fixture
def sqlite_node(sqlite_url: str) -> Iterator[fs.Node]:
    with fs.start(database_url=sqlite_url, max_concurrency=2) as node:
        yield node


def value_rows(query: Callable[..., list[Any]], url: str, asset: str) -> list[Any]:
    return query(url, "SELECT partition_key FROM flowstone_values WHERE asset = :a", a=asset)


class TestUnencodableValue:
    def test_the_run_fails_with_an_encode_error_naming_asset_partition_and_path(
        self, sqlite_node: fs.Node
    ) -> None:
        pipeline = unencodable_pipeline([False])
        with pytest.raises(fs.MaterializationError) as caught:
            sqlite_node.run(pipeline, "report", partition=DAY)
        cause = caught.value.__cause__
        assert isinstance(cause, fs.EncodeError)
        message = str(cause)
        assert "asset 'report'" in message
        assert f"partition '{DAY}'" in message
        assert "value['callback']: function is not serializable" in message
        assert "asset 'report'" in str(caught.value)

    def test_nothing_is_written_and_the_failure_is_recorded(
        self, sqlite_node: fs.Node, sqlite_url: str, query: Callable[..., list[Any]]
    ) -> None:
        pipeline = unencodable_pipeline([False])
        with pytest.raises(fs.MaterializationError):
            sqlite_node.run(pipeline, "report", partition=DAY)
        assert value_rows(query, sqlite_url, "report") == []
        assert not sqlite_node.exists(pipeline, "report", DAY)
        status = sqlite_node.status(pipeline, "report", DAY)
        assert status.state == "failed"
        assert status.error is not None
        assert "EncodeError" in status.error
        assert "value['callback']: function is not serializable" in status.error

    def test_the_node_keeps_running(self, sqlite_node: fs.Node) -> None:
        good = [False]
        pipeline = unencodable_pipeline(good)
        with pytest.raises(fs.MaterializationError):
            sqlite_node.run(pipeline, "report", partition=DAY)
        assert sqlite_node.run(pipeline, "other", partition=DAY) == 7
        good[0] = True
        assert sqlite_node.run(pipeline, "report", partition=DAY) == {"callback": "fixed"}
        assert sqlite_node.status(pipeline, "report", DAY).state == "completed"
        assert sqlite_node.health().status == "ok"

    def test_a_value_over_max_value_bytes_is_an_encode_error_too(
        self, sqlite_url: str, query: Callable[..., list[Any]]
    ) -> None:
        pipeline = fs.Pipeline("big")

        @pipeline.asset
        def huge(ctx: fs.Context) -> str:
            return "x" * 5000

        @pipeline.asset
        def small(ctx: fs.Context) -> str:
            return "x" * 100

        with fs.start(database_url=sqlite_url, max_value_bytes=1000) as node:
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(pipeline, "huge", partition=DAY)
            assert isinstance(caught.value.__cause__, fs.EncodeError)
            assert "asset 'huge'" in str(caught.value.__cause__)
            assert not node.exists(pipeline, "huge", DAY)
            assert node.status(pipeline, "huge", DAY).state == "failed"
            assert node.run(pipeline, "small", partition=DAY) == "x" * 100
        assert value_rows(query, sqlite_url, "huge") == []


class TestJSONFormat:
    def test_json_values_are_stored_as_queryable_json_text(
        self, sqlite_node: fs.Node, sqlite_url: str, query: Callable[..., list[Any]]
    ) -> None:
        pipeline = fs.Pipeline("json")
        value = {"region": "eu", "counts": [1, 2, 3], "ratio": 0.5, "ok": True, "none": None}

        @pipeline.asset(io=fs.io.SQL(format="json"))
        def summary(ctx: fs.Context) -> dict[str, object]:
            return value

        assert sqlite_node.run(pipeline, "summary", partition=DAY) == value
        assert sqlite_node.get(pipeline, "summary", DAY) == value
        rows = query(
            sqlite_url,
            "SELECT format, data, data_json, json_extract(data_json, '$.region') FROM flowstone_values "
            "WHERE asset = 'summary'",
        )
        assert len(rows) == 1
        format_, data, data_json, region = rows[0]
        assert (format_, data, region) == ("json", None, "eu")
        assert json.loads(data_json) == value

    def test_json_rejects_a_tuple_with_an_encode_error(
        self, sqlite_node: fs.Node, sqlite_url: str, query: Callable[..., list[Any]]
    ) -> None:
        pipeline = fs.Pipeline("json_bad")

        @pipeline.asset(io=fs.io.SQL(format="json"))
        def pairs(ctx: fs.Context) -> dict[str, object]:
            return {"pair": (1, 2)}

        with pytest.raises(fs.MaterializationError) as caught:
            sqlite_node.run(pipeline, "pairs", partition=DAY)
        cause = caught.value.__cause__
        assert isinstance(cause, fs.EncodeError)
        assert "asset 'pairs'" in str(cause)
        assert "value['pair']" in str(cause)
        assert value_rows(query, sqlite_url, "pairs") == []
        assert sqlite_node.status(pipeline, "pairs", DAY).state == "failed"


class TestFiles:
    @staticmethod
    def _pipeline(files: fs.io.Files, results: list[object]) -> fs.Pipeline:
        """``table`` returns ``results[-1]``."""
        pipeline = fs.Pipeline("files")

        @pipeline.asset(io=files)
        def table(ctx: fs.Context) -> object:
            return results[-1]

        return pipeline

    @staticmethod
    def _temporary_files(root: Path) -> list[Path]:
        return [p for p in root.rglob("*") if p.is_file() and p.name.startswith(".tmp")]

    def test_a_value_round_trips_through_a_file(self, tmp_path: Path) -> None:
        root = tmp_path / "values"
        files = fs.io.Files(root)
        value = {"rows": [(1, "a"), (2, "b")], "tags": frozenset({"x"})}
        pipeline = self._pipeline(files, [value])
        with fs.start() as node:
            assert node.run(pipeline, "table", partition=DAY) == value
            assert node.get(pipeline, "table", DAY) == value
            assert node.exists(pipeline, "table", DAY)
        stored = list(root.rglob("*.msgpack"))
        assert len(stored) == 1
        assert fs.codec.decode(stored[0].read_bytes()) == value
        assert self._temporary_files(root) == []

    def test_a_failed_encode_leaves_no_file_and_keeps_the_old_value(self, tmp_path: Path) -> None:
        root = tmp_path / "values"
        files = fs.io.Files(root)
        results: list[object] = [[1, 2, 3]]
        pipeline = self._pipeline(files, results)
        with fs.start() as node:
            node.run(pipeline, "table", partition=DAY)
            before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
            results.append({"callback": lambda: 1})
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(pipeline, "table", partition=DAY, force=True)
            assert isinstance(caught.value.__cause__, fs.EncodeError)
            assert "value['callback']: function is not serializable" in str(caught.value.__cause__)
            assert node.get(pipeline, "table", DAY) == [1, 2, 3]
            assert node.status(pipeline, "table", DAY).state == "failed"
        assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
        assert self._temporary_files(root) == []

    def test_a_failed_encode_of_a_new_partition_leaves_no_file(self, tmp_path: Path) -> None:
        root = tmp_path / "values"
        files = fs.io.Files(root)
        pipeline = self._pipeline(files, [{"callback": lambda: 1}])
        with fs.start() as node:
            with pytest.raises(fs.MaterializationError):
                node.run(pipeline, "table", partition=DAY)
            assert not node.exists(pipeline, "table", DAY)
        assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []

    def test_a_value_over_the_files_limit_is_an_encode_error_and_writes_nothing(self, tmp_path: Path) -> None:
        root = tmp_path / "values"
        files = fs.io.Files(root, max_value_bytes=1000)
        pipeline = self._pipeline(files, ["x" * 5000])
        with fs.start() as node:
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(pipeline, "table", partition=DAY)
            assert isinstance(caught.value.__cause__, fs.EncodeError)
            assert not node.exists(pipeline, "table", DAY)
        assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []

    def test_invalidate_removes_the_file(self, tmp_path: Path) -> None:
        root = tmp_path / "values"
        files = fs.io.Files(root)
        pipeline = self._pipeline(files, ["v"])
        with fs.start() as node:
            node.run(pipeline, "table", partition=DAY)
            assert len(list(root.rglob("*.msgpack"))) == 1
            assert node.invalidate(pipeline, "table", DAY) == 1
            assert not node.exists(pipeline, "table", DAY)
            with pytest.raises(fs.NotMaterializedError):
                node.get(pipeline, "table", DAY)
        assert list(root.rglob("*.msgpack")) == []

    def test_a_long_partition_key_works(self, tmp_path: Path) -> None:
        root = tmp_path / "values"
        files = fs.io.Files(root)
        long_key = "k" * 600 + "/?" * 150  # 900 characters, longer still once quoted
        assert len(long_key) == 900
        pipeline = self._pipeline(files, ["long"])
        with fs.start() as node:
            assert node.run(pipeline, "table", partition=long_key) == "long"
            assert node.get(pipeline, "table", long_key) == "long"
            assert node.exists(pipeline, "table", long_key)
            assert files.list_partitions("files", "table") == [long_key]
            assert node.invalidate(pipeline, "table", long_key) == 1
            assert not node.exists(pipeline, "table", long_key)
        assert [p for p in root.rglob("*") if p.is_file()] == []

    def test_list_partitions_names_every_stored_partition(self, tmp_path: Path) -> None:
        files = fs.io.Files(str(tmp_path / "values"))
        pipeline = self._pipeline(files, [1])
        with fs.start() as node:
            for key in ("us", "eu", "a b/c"):
                node.run(pipeline, "table", partition=key)
        assert sorted(files.list_partitions("files", "table")) == ["a b/c", "eu", "us"]
        assert files.list_partitions("files", "missing") == []
        assert files.load(AssetKey("files", "table", fs.partitions.serialize("eu"))) == 1
