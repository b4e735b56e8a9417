"""Issue 16, parallel branches: bad definitions fail at ``pipeline.validate()`` with a
``DefinitionError`` (or an ``OptionError`` for a bad option value), naming what to fix."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone as fs


def pipeline_with(**parallel: Any) -> fs.Pipeline:
    p = fs.Pipeline("defs")

    @p.asset
    def a(ctx: fs.Context) -> int:
        return 1

    @p.parallel(**parallel)
    def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        return 0

    return p


def test_an_unknown_final_asset_is_refused_at_validation() -> None:
    p = pipeline_with(branches={"x": "aa"})
    with pytest.raises(
        fs.DefinitionError, match=r"branch 'x' ends at 'aa', which is not an asset; did you mean 'a'"
    ):
        p.validate()


def test_a_duplicate_branch_name_is_refused_at_validation() -> None:
    p = pipeline_with(branches=[("x", "a"), ("x", "a")])
    with pytest.raises(fs.DefinitionError, match="branch name 'x' is given twice"):
        p.validate()


def test_a_final_that_depends_on_the_parallel_asset_is_refused() -> None:
    p = fs.Pipeline("loop")

    @p.asset
    def after(ctx: fs.Context, joined: int) -> int:
        return joined

    @p.parallel(branches={"back": "after"})
    def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        return 0

    with pytest.raises(fs.DefinitionError, match="which depends on 'joined' itself"):
        p.validate()


def test_the_parallel_asset_cannot_be_its_own_branch() -> None:
    p = fs.Pipeline("self")

    @p.parallel(branches={"me": "joined"})
    def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        return 0

    with pytest.raises(fs.DefinitionError, match="depends on 'joined' itself"):
        p.validate()


def test_a_join_that_does_not_take_the_branches_is_refused() -> None:
    p = fs.Pipeline("nobranches")
    with pytest.raises(fs.DefinitionError, match=r"def joined\(ctx, branches, \*\*deps\)"):

        @p.parallel(branches={"x": "a"})
        def joined(ctx: fs.Context) -> int:
            return 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"branches": {}}, "at least one branch"),
        ({"branches": {"x": "a"}, "failure_mode": "some"}, "failure_mode must be one of"),
        ({"branches": {"x": "a"}, "timeout": 0}, "timeout"),
        ({"branches": {"not a name": "a"}}, "branch name"),
        ({"branches": "a"}, "branches must map names"),
        ({"branches": {"x": "a"}, "failure": "all"}, "unknown asset option"),
    ],
)
def test_bad_options_are_refused_when_defined(options: dict[str, Any], message: str) -> None:
    with pytest.raises(fs.OptionError, match=message):
        pipeline_with(**options)


def test_a_branch_with_a_bad_timeout_is_refused() -> None:
    with pytest.raises(fs.OptionError, match=r"fs.Branch\(timeout=...\)"):
        fs.Branch("a", timeout=-1)


def test_the_bare_decorator_says_it_needs_branches() -> None:
    p = fs.Pipeline("bare")
    with pytest.raises(fs.DefinitionError, match="needs its branches"):
        p.parallel(lambda ctx, branches: 0)


def test_asset_options_still_apply_and_the_join_deps_come_from_its_other_parameters() -> None:
    p = fs.Pipeline("deps")

    @p.asset
    def a(ctx: fs.Context) -> int:
        return 1

    @p.asset
    def extra(ctx: fs.Context) -> int:
        return 2

    @p.parallel(branches={"x": "a"}, description="joins a")
    def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult], extra: int) -> int:
        return extra

    p.validate()
    assert p.deps["joined"] == ("extra",)  # branches are not dependencies: they run in its wait
    assert fs.asset_info(p, "joined").description == "joins a"
    assert p.get("joined").kind.label == "parallel"
