"""The pure dependency-graph core: validation, ordering, layering and drawing."""

from __future__ import annotations

import itertools
import random
import time
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowstone._graph import (
    Deps,
    check_graph,
    dependants,
    downstream,
    levels,
    render,
    topological_order,
    upstream,
)
from flowstone.errors import CycleError, DefinitionError

DIAMOND: Deps = {
    "raw": (),
    "left": ("raw",),
    "right": ("raw",),
    "joined": ("left", "right"),
}


def chain(length: int) -> dict[str, tuple[str, ...]]:
    return {f"a{i}": ((f"a{i - 1}",) if i else ()) for i in range(length)}


@st.composite
def dags(draw: st.DrawFn) -> dict[str, tuple[str, ...]]:
    """Random DAGs: node i depends only on nodes < i, defined in a shuffled order."""
    size = draw(st.integers(min_value=0, max_value=30))
    names = [f"n{i}" for i in range(size)]
    edges: dict[str, tuple[str, ...]] = {}
    for i, name in enumerate(names):
        earlier = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=4)) if i else []
        edges[name] = tuple(names[j] for j in earlier)
    definition_order = draw(st.permutations(names))
    return {name: edges[name] for name in definition_order}


class TestCheckGraph:
    def test_valid_graph_passes(self) -> None:
        check_graph("sales", DIAMOND)

    def test_self_dependency_is_a_one_asset_cycle(self) -> None:
        with pytest.raises(CycleError) as info:
            check_graph("sales", {"a": ("a",)})
        assert info.value.cycle == ("a", "a")

    def test_two_asset_cycle_is_reported_with_the_first_repeated(self) -> None:
        with pytest.raises(CycleError) as info:
            check_graph("sales", {"a": ("b",), "b": ("a",)})
        assert info.value.cycle == ("a", "b", "a")

    def test_cycle_inside_a_bigger_graph_reports_only_the_cycle(self) -> None:
        deps = {
            "root": (),
            "entry": ("root", "a"),
            "a": ("root", "b"),
            "b": ("c",),
            "c": ("a",),
            "leaf": ("entry",),
        }
        with pytest.raises(CycleError) as info:
            check_graph("sales", deps)
        assert info.value.cycle == ("a", "b", "c", "a")

    def test_cycle_message_names_pipeline_path_and_fix(self) -> None:
        deps = {"a": ("b",), "b": ("c",), "c": ("a",)}
        with pytest.raises(CycleError, match="break the cycle") as info:
            check_graph("sales", deps)
        assert str(info.value).startswith("pipeline 'sales': dependency cycle a -> b -> c -> a;")

    def test_cycle_error_is_a_definition_error(self) -> None:
        with pytest.raises(DefinitionError):
            check_graph("sales", {"a": ("a",)})

    def test_unknown_dependency_suggests_a_close_name(self) -> None:
        deps = {"orders": (), "report": ("ordrs",)}
        with pytest.raises(DefinitionError) as info:
            check_graph("sales", deps)
        message = str(info.value)
        assert "'report'" in message
        assert "'ordrs'" in message
        assert "did you mean 'orders'?" in message
        assert not isinstance(info.value, CycleError)

    def test_unknown_dependency_without_close_name_says_how_to_fix_it(self) -> None:
        deps = {"orders": (), "report": ("zzz",)}
        with pytest.raises(DefinitionError, match=r"'report'.*'zzz'") as info:
            check_graph("sales", deps)
        assert "did you mean" not in str(info.value)
        assert "define an asset named 'zzz'" in str(info.value)

    def test_unknown_dependency_is_reported_before_a_cycle(self) -> None:
        with pytest.raises(DefinitionError, match="unknown asset 'nope'"):
            check_graph("sales", {"a": ("a",), "b": ("nope",)})

    @given(dags())
    def test_random_dags_are_accepted(self, deps: dict[str, tuple[str, ...]]) -> None:
        check_graph("p", deps)

    @given(dags(), st.data())
    def test_a_back_edge_is_reported_as_a_real_cycle(
        self, deps: dict[str, tuple[str, ...]], data: st.DataObject
    ) -> None:
        names = sorted(deps, key=lambda name: int(name[1:]))
        if not names:
            return
        target = data.draw(st.sampled_from(names))
        ancestors = [*upstream(deps, target), target]
        source = data.draw(st.sampled_from(ancestors))
        deps[source] = (*deps[source], target)  # source now depends on its descendant
        with pytest.raises(CycleError) as info:
            check_graph("p", deps)
        cycle = info.value.cycle
        assert cycle[0] == cycle[-1]
        assert len(set(cycle)) == len(cycle) - 1
        for name, dep in itertools.pairwise(cycle):
            assert dep in deps[name]


class TestTopologicalOrder:
    def test_diamond_puts_dependencies_first(self) -> None:
        assert topological_order(DIAMOND) == ["raw", "left", "right", "joined"]

    def test_ties_are_broken_by_definition_order(self) -> None:
        deps = {"z": (), "m": (), "a": (), "top": ("a", "m", "z")}
        assert topological_order(deps) == ["z", "m", "a", "top"]
        flipped = {"a": (), "m": (), "z": (), "top": ("z", "m", "a")}
        assert topological_order(flipped) == ["a", "m", "z", "top"]

    def test_dependencies_defined_later_are_pulled_forward(self) -> None:
        deps = {"report": ("orders",), "extra": (), "orders": ()}
        assert topological_order(deps) == ["extra", "orders", "report"]

    def test_targets_limit_the_order_to_what_they_need(self) -> None:
        deps = {**DIAMOND, "unrelated": (), "other": ("left",)}
        assert topological_order(deps, ["other"]) == ["raw", "left", "other"]
        assert topological_order(deps, ["joined", "unrelated"]) == [
            "raw",
            "left",
            "right",
            "joined",
            "unrelated",
        ]

    def test_unknown_target_raises_key_error(self) -> None:
        with pytest.raises(KeyError, match="nope"):
            topological_order(DIAMOND, ["nope"])

    def test_cycle_raises_cycle_error_without_a_pipeline_name(self) -> None:
        with pytest.raises(CycleError, match=r"^dependency cycle a -> b -> a;"):
            topological_order({"a": ("b",), "b": ("a",)})

    def test_repeated_dependency_counts_once(self) -> None:
        assert topological_order({"a": (), "b": ("a", "a")}) == ["a", "b"]

    def test_ten_thousand_long_chain_needs_no_recursion(self) -> None:
        deps = dict(reversed(chain(10_000).items()))
        check_graph("long", deps)
        order = topological_order(deps, ["a9999"])
        assert order == [f"a{i}" for i in range(10_000)]
        assert len(upstream(deps, "a9999")) == 9_999
        assert len(downstream(deps, "a0")) == 9_999
        assert len(levels(deps)) == 10_000

    def test_planning_a_thousand_assets_takes_well_under_ten_milliseconds(self) -> None:
        rng = random.Random(7)
        deps = {f"a{i}": tuple(f"a{j}" for j in rng.sample(range(i), min(i, 3))) for i in range(1000)}
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            check_graph("big", deps)
            topological_order(deps)
            best = min(best, time.perf_counter() - start)
        assert best < 0.010

    @given(dags())
    def test_every_dependency_comes_before_its_dependant_exactly_once(
        self, deps: dict[str, tuple[str, ...]]
    ) -> None:
        order = topological_order(deps)
        assert sorted(order) == sorted(deps)
        position = {name: i for i, name in enumerate(order)}
        for name, needs in deps.items():
            for dep in needs:
                assert position[dep] < position[name]

    @given(dags())
    def test_a_graph_defined_in_a_valid_order_keeps_that_order(
        self, deps: dict[str, tuple[str, ...]]
    ) -> None:
        in_order = {name: deps[name] for name in topological_order(deps)}
        assert topological_order(in_order) == list(in_order)


class TestNeighbours:
    def test_upstream_lists_transitive_ancestors_in_order(self) -> None:
        assert upstream(DIAMOND, "joined") == ["raw", "left", "right"]
        assert upstream(DIAMOND, "raw") == []

    def test_downstream_lists_transitive_descendants_in_order(self) -> None:
        assert downstream(DIAMOND, "raw") == ["left", "right", "joined"]
        assert downstream(DIAMOND, "joined") == []

    def test_dependants_reverse_the_edges_in_definition_order(self) -> None:
        assert dependants(DIAMOND) == {
            "raw": ("left", "right"),
            "left": ("joined",),
            "right": ("joined",),
            "joined": (),
        }

    def test_unknown_asset_raises_key_error(self) -> None:
        with pytest.raises(KeyError):
            upstream(DIAMOND, "nope")
        with pytest.raises(KeyError):
            downstream(DIAMOND, "nope")

    @given(dags(), st.data())
    def test_upstream_and_downstream_mirror_each_other(
        self, deps: dict[str, tuple[str, ...]], data: st.DataObject
    ) -> None:
        if not deps:
            return
        name = data.draw(st.sampled_from(sorted(deps)))
        for ancestor in upstream(deps, name):
            assert name in downstream(deps, ancestor)


class TestLevels:
    def test_fan_out_then_fan_in_gives_three_levels(self) -> None:
        middle = [f"m{i}" for i in range(100)]
        deps = {"source": (), **dict.fromkeys(middle, ("source",)), "sink": tuple(middle)}
        assert levels(deps) == [["source"], middle, ["sink"]]

    def test_asset_sits_one_level_below_its_deepest_dependency(self) -> None:
        deps = {"a": (), "b": ("a",), "c": ("a", "b"), "d": ()}
        assert levels(deps) == [["a", "d"], ["b"], ["c"]]

    def test_levels_of_targets_only_cover_what_they_need(self) -> None:
        deps = {**DIAMOND, "other": ()}
        assert levels(deps, ["left"]) == [["raw"], ["left"]]

    def test_empty_graph_has_no_levels(self) -> None:
        assert levels({}) == []

    @given(dags())
    def test_each_asset_depends_only_on_earlier_levels(self, deps: dict[str, tuple[str, ...]]) -> None:
        layers = levels(deps)
        depth = {name: k for k, layer in enumerate(layers) for name in layer}
        assert sorted(depth) == sorted(deps)
        for name, needs in deps.items():
            assert all(depth[dep] < depth[name] for dep in needs)
        assert all(layers)


class TestRender:
    DEPS: ClassVar[Deps] = {**DIAMOND, "lonely": ()}
    DESCRIPTIONS: ClassVar[dict[str, str]] = {"raw": 'Raw "orders" from the shop.\n\nMore detail.'}

    @pytest.mark.parametrize("fmt", ["ascii", "mermaid", "dot"])
    def test_every_format_names_every_asset(self, fmt: str) -> None:
        text = render("sales", self.DEPS, self.DESCRIPTIONS, format=fmt)  # type: ignore[arg-type]
        for name in self.DEPS:
            assert name in text

    def test_mermaid_has_one_edge_per_dependency_and_a_line_for_isolated_assets(self) -> None:
        text = render("sales", self.DEPS, format="mermaid")
        lines = text.splitlines()
        assert lines[0] == "graph TD"
        edges = {line.strip() for line in lines if "-->" in line}
        assert edges == {
            "raw --> left",
            "raw --> right",
            "left --> joined",
            "right --> joined",
        }
        assert "    lonely" in lines

    def test_mermaid_gives_awkward_names_a_safe_id_and_keeps_the_name_as_label(self) -> None:
        text = render("p", {"end": (), "my-asset": ("end",)}, format="mermaid")
        assert 'asset_0["end"]' in text
        assert 'asset_1["my-asset"]' in text
        assert "asset_0 --> asset_1" in text

    def test_dot_is_a_quoted_digraph_with_dependency_to_dependant_edges(self) -> None:
        text = render("sales", self.DEPS, self.DESCRIPTIONS, format="dot")
        assert text.startswith('digraph "sales" {')
        assert text.endswith("}")
        assert '"raw" -> "left";' in text
        assert '"lonely";' in text
        assert r'label="raw\nRaw \"orders\" from the shop."' in text

    def test_ascii_groups_assets_by_level_with_their_dependencies(self) -> None:
        text = render("sales", self.DEPS, self.DESCRIPTIONS)
        assert text.splitlines() == [
            "pipeline 'sales': 5 assets in 3 levels",
            "level 0",
            '  raw  # Raw "orders" from the shop.',
            "  lonely",
            "level 1",
            "  left <- raw",
            "  right <- raw",
            "level 2",
            "  joined <- left, right",
        ]

    def test_ascii_of_an_empty_pipeline_says_so(self) -> None:
        assert render("empty", {}) == "pipeline 'empty': no assets"

    def test_unknown_format_lists_the_allowed_ones(self) -> None:
        with pytest.raises(ValueError, match="'ascii', 'mermaid', 'dot'"):
            render("sales", self.DEPS, format="svg")  # type: ignore[arg-type]
