"""Issue 16: routers and routed assets are checked when defined or validated, with a
``DefinitionError`` that names what is wrong; graphs draw routers and branches."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone as fs


def pipeline_with(router: dict[str, Any] | None = None, **routed: dict[str, Any]) -> fs.Pipeline:
    """A router ``choose`` (options ``router``) and assets named by ``routed`` with options."""
    p = fs.Pipeline("defs")

    @p.router(**(router or {"branches": ("fast", "slow")}))
    def choose(ctx: fs.Context) -> str:
        return "fast"

    for name, options in routed.items():

        def body(ctx: fs.Context) -> str:
            return "x"

        body.__name__ = name
        p.asset(**options)(body)
    return p


class TestValidation:
    def test_a_well_formed_router_validates(self) -> None:
        p = pipeline_with(fast={"routed_from": "choose"}, slow={"routed_from": "choose"})
        p.validate()
        assert p.deps["fast"] == ("choose",)

    def test_routed_from_must_name_an_asset(self) -> None:
        p = pipeline_with(fast={"routed_from": "chose"}, slow={"routed_from": "choose"})
        with pytest.raises(fs.DefinitionError, match=r"asset 'fast': routed_from='chose' names no asset"):
            p.validate()

    def test_routed_from_must_name_a_router(self) -> None:
        p = pipeline_with(plain={}, fast={"routed_from": "plain"}, slow={"routed_from": "choose"})
        with pytest.raises(fs.DefinitionError, match=r"routed_from='plain' is not a router"):
            p.validate()

    def test_every_branch_must_be_an_asset(self) -> None:
        p = pipeline_with(fast={"routed_from": "choose"})
        with pytest.raises(fs.DefinitionError, match=r"router 'choose': branch 'slow' is not an asset"):
            p.validate()

    def test_every_branch_must_be_routed_from_its_router(self) -> None:
        p = pipeline_with(fast={"routed_from": "choose"}, slow={})
        with pytest.raises(fs.DefinitionError, match=r"branch 'slow' is not routed from it"):
            p.validate()

    def test_an_asset_routed_from_a_router_must_be_one_of_its_branches(self) -> None:
        p = pipeline_with(
            fast={"routed_from": "choose"}, slow={"routed_from": "choose"}, other={"routed_from": "choose"}
        )
        with pytest.raises(fs.DefinitionError, match=r"asset 'other'.*do not include it"):
            p.validate()

    def test_a_router_that_needs_its_own_branch_is_a_cycle(self) -> None:
        p = fs.Pipeline("cyclic")

        @p.router(branches=("fast",))
        def choose(ctx: fs.Context, fast: str) -> str:
            return "fast"

        @p.asset(routed_from="choose")
        def fast(ctx: fs.Context) -> str:
            return "x"

        with pytest.raises(fs.CycleError) as raised:
            p.validate()
        assert set(raised.value.cycle) == {"choose", "fast"}
        assert isinstance(raised.value, fs.DefinitionError)

    def test_a_cycle_through_two_routers(self) -> None:
        p = fs.Pipeline("two-routers")

        @p.router(branches=("b",))
        def a(ctx: fs.Context, d: str) -> str:
            return "b"

        @p.asset(routed_from="a")
        def b(ctx: fs.Context) -> str:
            return "x"

        @p.router(branches=("d",))
        def c(ctx: fs.Context, b: str) -> str:
            return "d"

        @p.asset(routed_from="c")
        def d(ctx: fs.Context) -> str:
            return "x"

        with pytest.raises(fs.CycleError):
            p.validate()

    def test_an_optional_dependency_must_be_a_dependency(self) -> None:
        p = fs.Pipeline("optional")
        with pytest.raises(
            fs.DefinitionError, match=r"optional dependency 'slow' is not one of its dependencies"
        ):

            @p.asset(optional=("slow",))
            def report(ctx: fs.Context, fast: str) -> str:
                return fast

    def test_an_asset_cannot_be_routed_from_itself(self) -> None:
        p = fs.Pipeline("self")
        with pytest.raises(fs.DefinitionError, match="routed from itself"):

            @p.asset(routed_from="me")
            def me(ctx: fs.Context) -> str:
                return "x"


class TestRouterOptions:
    @pytest.mark.parametrize(
        ("options", "error", "match"),
        [
            ({}, TypeError, "branches"),
            ({"branches": "fast"}, TypeError, "branches must be a sequence"),
            ({"branches": ()}, ValueError, "at least one branch"),
            ({"branches": ("fast", "fast")}, ValueError, "twice"),
            ({"branches": ("fast", 3)}, ValueError, "name of an asset"),
            ({"branches": ("fast",), "default": "slow"}, ValueError, "default 'slow' is not one of"),
            ({"branches": ("fast",), "on_error": "ignore"}, ValueError, "on_error must be"),
            ({"branches": ("fast",), "on_error": fs.Fallback("slow")}, ValueError, r"Fallback\('slow'\)"),
            ({"branches": ("fast",), "retries": 3}, TypeError, "unknown asset option"),
        ],
    )
    def test_a_bad_router_option_is_refused_when_defined(
        self, options: dict[str, Any], error: type[Exception], match: str
    ) -> None:
        p = fs.Pipeline("bad-router")
        with pytest.raises(error, match=match):

            @p.router(**options)
            def choose(ctx: fs.Context) -> str:
                return "fast"

    def test_a_bare_router_decorator_asks_for_its_branches(self) -> None:
        p = fs.Pipeline("bare")
        with pytest.raises(fs.DefinitionError, match="needs its branches"):

            @p.router  # type: ignore[arg-type]
            def choose(ctx: fs.Context) -> str:
                return "fast"

    def test_a_fallback_needs_a_branch_name(self) -> None:
        with pytest.raises(TypeError, match="branch name"):
            fs.Fallback("")

    @pytest.mark.parametrize(
        ("option", "value"), [("routed_from", 3), ("routed_from", "not a name"), ("optional", "fast")]
    )
    def test_bad_routing_asset_options(self, option: str, value: Any) -> None:
        with pytest.raises(TypeError, match=option):
            fs.AssetOptions(**{option: value})

    def test_skipped_is_one_falsy_value_that_says_what_it_is(self) -> None:
        assert repr(fs.SKIPPED) == "fs.SKIPPED"
        assert not fs.SKIPPED
        assert type(fs.SKIPPED)() is fs.SKIPPED


class TestGraphs:
    @pytest.fixture
    def p(self) -> fs.Pipeline:
        return pipeline_with(
            fast={"routed_from": "choose"},
            slow={"routed_from": "choose"},
            report={"depends_on": ("fast", "slow"), "optional": ("fast", "slow")},
        )

    def test_ascii_marks_the_router_and_its_branches(self, p: fs.Pipeline) -> None:
        drawn = fs.graph(p, "ascii")
        assert "  choose  [router: fast | slow]" in drawn
        assert "  fast <- choose  [branch of choose]" in drawn
        assert "  report <- fast, slow\n" in drawn + "\n"

    def test_mermaid_draws_the_router_as_a_decision_and_branch_edges_dashed(self, p: fs.Pipeline) -> None:
        drawn = fs.graph(p, "mermaid")
        assert '    choose{"choose"}' in drawn
        assert "    choose -.->|fast| fast" in drawn
        assert "    choose -.->|slow| slow" in drawn
        assert "    fast --> report" in drawn

    def test_dot_draws_the_router_as_a_diamond_and_branch_edges_dashed(self, p: fs.Pipeline) -> None:
        drawn = fs.graph(p, "dot")
        assert '    "choose" [shape=diamond];' in drawn
        assert '    "choose" -> "fast" [style=dashed, label="fast"];' in drawn
        assert '    "fast" -> "report";' in drawn


class TestTestingHelper:
    def test_run_asset_gives_none_for_an_optional_dependency_left_out(self) -> None:
        p = pipeline_with(
            fast={"routed_from": "choose"},
            slow={"routed_from": "choose"},
        )

        @p.asset(optional=("fast", "slow"))
        def report(ctx: fs.Context, fast: str | None, slow: str | None) -> Any:
            return (fast, slow)

        assert fs.testing.run_asset(p, "report", deps={"fast": "f"}) == ("f", None)
        assert fs.testing.run_asset(p, "choose") == "fast"
