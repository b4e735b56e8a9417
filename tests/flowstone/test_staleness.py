"""Staleness: ``node.status(...).stale``/``stale_reasons`` and ``node.run(..., stale_only=True)``."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

import flowstone as fs


def chain(calls: list[str], version: str | None = None) -> fs.Pipeline:
    pipeline = fs.Pipeline("stale_chain")

    @pipeline.asset(code_version=version)
    def raw(ctx: fs.Context) -> int:
        calls.append("raw")
        return 1

    @pipeline.asset
    def clean(ctx: fs.Context, raw: int) -> int:
        calls.append("clean")
        return raw + 1

    @pipeline.asset
    def report(ctx: fs.Context, clean: int) -> int:
        calls.append("report")
        return clean * 10

    @pipeline.asset
    def other(ctx: fs.Context) -> str:
        calls.append("other")
        return "x"

    return pipeline


class TestStaleness:
    def test_fresh_values_are_not_stale(self, any_node: fs.Node) -> None:
        pipeline = chain([])
        any_node.run(pipeline, "report")
        status = any_node.status(pipeline, "report")
        assert (status.stale, status.stale_reasons) == (False, ())

    def test_a_changed_code_version_makes_the_value_and_everything_downstream_stale(
        self, any_node: fs.Node
    ) -> None:
        first = chain([], version="1")  # kept alive: a memory node forgets a name nobody defines
        any_node.run(first, "report")
        changed = chain([], version="2")
        raw = any_node.status(changed, "raw")
        assert raw.stale
        assert raw.stale_reasons == ("code changed (version 1 recorded, 2 now)",)
        assert any_node.status(changed, "clean").stale_reasons == ("upstream 'raw' is stale",)
        assert any_node.status(changed, "report").stale_reasons == ("upstream 'clean' is stale",)

    def test_an_upstream_materialized_again_makes_its_dependants_stale(self, any_node: fs.Node) -> None:
        pipeline = chain([])
        any_node.run(pipeline, "report")
        any_node.run(pipeline, "raw", force=True)
        assert not any_node.status(pipeline, "raw").stale
        assert any_node.status(pipeline, "clean").stale_reasons == (
            "upstream 'raw' was materialized again since",
        )
        assert any_node.status(pipeline, "report").stale_reasons == ("upstream 'clean' is stale",)

    def test_stale_only_re_runs_what_is_stale_and_leaves_fresh_values_alone(self, any_node: fs.Node) -> None:
        calls: list[str] = []
        first = chain(calls, version="1")
        any_node.run(first, "report")
        any_node.run(first, "other")
        calls.clear()
        changed = chain(calls, version="2")
        assert any_node.run(changed, "report", stale_only=True) == 20
        assert calls == ["raw", "clean", "report"]
        assert not any_node.status(changed, "report").stale
        calls.clear()
        assert any_node.run(changed, "report", stale_only=True) == 20
        assert any_node.run(changed, "other", stale_only=True) == "x"
        assert calls == []  # nothing stale any more, and other never was

    def test_a_bad_code_version_is_an_option_error(self) -> None:
        with pytest.raises(fs.OptionError, match="code_version"):
            fs.Pipeline("bad").asset(code_version="")


MODULE = """
import flowstone as fs

pipeline = fs.Pipeline("reload_stale")


@pipeline.asset
def v(ctx):
    return {value!r}


@pipeline.asset
def down(ctx, v):
    return v


@pipeline.asset
def unchanged(ctx):
    return 0
"""


class TestAfterAReload:
    def load(self, path: Path, name: str, value: object, module: ModuleType | None) -> ModuleType:
        path.write_text(MODULE.format(value=value))
        importlib.invalidate_caches()
        return importlib.import_module(name) if module is None else importlib.reload(module)

    def test_a_reload_that_changes_v_makes_v_and_downstream_stale_and_nothing_else(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
    ) -> None:
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.setattr(sys, "dont_write_bytecode", True)
        name = f"stale_{uuid.uuid4().hex[:8]}"
        path = tmp_path / f"{name}.py"
        try:
            module = self.load(path, name, "old", None)
            with fs.start(database_url=sqlite_url) as node:
                node.run(module.pipeline, "down")
                node.run(module.pipeline, "unchanged")
                module = self.load(path, name, "new value", module)
                pipeline = module.pipeline
                assert node.status(pipeline, "v").stale
                assert node.status(pipeline, "down").stale_reasons == ("upstream 'v' is stale",)
                assert not node.status(pipeline, "unchanged").stale
                assert node.run(pipeline, "down", stale_only=True) == "new value"
        finally:
            sys.modules.pop(name, None)


def long_chain(length: int, version: str) -> fs.Pipeline:
    pipeline = fs.Pipeline("long_stale_chain")

    def first(ctx: fs.Context) -> int:
        return 0

    first.__name__ = "a0"
    pipeline.asset(code_version=version)(first)
    for n in range(1, length):

        def step(ctx: fs.Context, **deps: int) -> int:
            return sum(deps.values()) + 1

        step.__name__ = f"a{n}"
        pipeline.asset(depends_on=[f"a{n - 1}"])(step)
    return pipeline


def test_a_code_change_far_up_a_long_chain_is_found_without_recursion(node: fs.Node) -> None:
    before = long_chain(1500, "1")
    assert node.run(before, "a1499") == 1499
    after = long_chain(1500, "2")
    assert node.status(after, "a1499").stale_reasons == ("upstream 'a1498' is stale",)
    assert node.status(after, "a0").stale
