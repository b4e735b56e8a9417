"""Tests for ``fs.io.Files``: every path it builds from a name stays inside its root."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowstone as fs
from flowstone.io import AssetKey

HOSTILE = ["..", ".", "", "a/../../b", "../../escaped", "/tmp/absolute", "\\..\\x", "nul\x00name", "%2E%2E"]
IDS = ["dot-dot", "dot", "empty", "a/../../b", "climbing", "absolute", "backslashes", "NUL", "pre-escaped"]
KEY = fs.partitions.serialize("2025-01-01")


def files_under(directory: Path) -> set[Path]:
    return {path for path in directory.rglob("*") if path.is_file()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root two levels below ``tmp_path``, so that a write beside or above it shows."""
    return tmp_path / "outer" / "root"


class TestNamesStayInsideTheRoot:
    @pytest.mark.parametrize("name", HOSTILE, ids=IDS)
    def test_a_pipeline_name_cannot_write_outside_or_onto_the_root(
        self, tmp_path: Path, root: Path, name: str
    ) -> None:
        files = fs.io.Files(root)
        files.store(AssetKey(name, "asset", KEY), [1, 2])
        written = files_under(tmp_path)
        assert len(written) == 1
        (path,) = written
        assert path.resolve().is_relative_to(root.resolve())
        # Two levels below the root: <pipeline>/<asset>/<partition>.msgpack, nothing shared.
        assert path.resolve().parent.parent.parent == root.resolve()
        assert files.load(AssetKey(name, "asset", KEY)) == [1, 2]

    @pytest.mark.parametrize("name", HOSTILE, ids=IDS)
    def test_an_asset_name_cannot_write_outside_its_pipeline_directory(
        self, tmp_path: Path, root: Path, name: str
    ) -> None:
        files = fs.io.Files(root)
        files.store(AssetKey("sales", name, KEY), "v")
        (path,) = files_under(tmp_path)
        assert path.resolve().parent.parent == (root / "sales").resolve()
        assert files.exists(AssetKey("sales", name, KEY))
        assert files.list_partitions("sales", name) == ["2025-01-01"]
        assert files.delete(AssetKey("sales", name, KEY))
        assert files_under(tmp_path) == set()

    def test_hostile_names_and_ordinary_ones_never_share_a_directory(self, root: Path) -> None:
        files = fs.io.Files(root)
        names = [*HOSTILE, "a", "b", "x", "escaped", "%", "%25"]
        for index, name in enumerate(names):
            files.store(AssetKey(name, "asset", KEY), index)
        for index, name in enumerate(names):
            assert files.load(AssetKey(name, "asset", KEY)) == index
        assert len(files_under(root)) == len(names)

    def test_a_pipeline_named_dot_dot_materializes_inside_the_root(self, tmp_path: Path, root: Path) -> None:
        pipeline = fs.Pipeline("..")

        @pipeline.asset(io=fs.io.Files(root))
        def report(ctx: fs.Context) -> str:
            return "inside"

        with fs.start() as node:
            assert node.run(pipeline, "report", partition="eu") == "inside"
            assert node.get(pipeline, "report", partition="eu") == "inside"
        (path,) = files_under(tmp_path)
        assert path.resolve().is_relative_to(root.resolve())
