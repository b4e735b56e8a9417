"""The registry actor: pipelines held by weak reference, collected when dropped [1][8]."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

import flowstone as fs
from supervisors.testing import wait_for


def one_asset_pipeline(name: str, value: object = 1) -> fs.Pipeline:
    pipeline = fs.Pipeline(name)

    @pipeline.asset
    def value_asset(ctx: fs.Context) -> object:
        return value

    return pipeline


def run_and_drop(node: fs.Node, name: str, value: object = 1) -> None:
    """Define a pipeline, run it on ``node`` and let it go out of scope."""
    node.run(one_asset_pipeline(name, value), "value_asset")


def collected(node: fs.Node, name: str) -> bool:
    gc.collect()
    return name not in node.pipelines()


class TestListing:
    def test_pipelines_lists_the_pipelines_the_node_has_run(self, node: fs.Node, sales: fs.Pipeline) -> None:
        other = one_asset_pipeline("other")
        assert node.pipelines() == []
        node.run(sales, "numbers")
        node.run(other, "value_asset")
        assert sorted(node.pipelines()) == ["other", "sales"]

    def test_a_pipeline_is_listed_once_however_often_it_runs(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "numbers")
        node.run(sales, "total")
        node.backfill(sales, "numbers", ["a", "b"])
        assert node.pipelines() == ["sales"]

    def test_each_node_lists_only_the_pipelines_it_ran(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "numbers")
        with fs.start() as other:
            assert other.pipelines() == []


class TestRedefinition:
    """[1] a reloaded pipeline replaces the old definitions instead of piling up."""

    def test_redefining_a_pipeline_replaces_the_entry_and_reuses_its_values(
        self, node: fs.Node, make_sales: object
    ) -> None:
        first = make_sales("sales")  # type: ignore[operator]
        assert node.run(first, "total") == 30

        calls: list[str] = []
        second = fs.Pipeline("sales")

        @second.asset
        def numbers(ctx: fs.Context) -> list[int]:
            calls.append("numbers")
            return [0]

        @second.asset
        def doubled(ctx: fs.Context, numbers: list[int]) -> list[int]:
            calls.append("doubled")
            return [n * 2 for n in numbers]

        @second.asset
        def total(ctx: fs.Context, doubled: list[int]) -> int:
            calls.append("total")
            return sum(doubled)

        assert node.exists(second, "total")
        assert node.run(second, "total") == 30
        assert calls == []
        assert node.pipelines() == ["sales"]

        del first
        gc.collect()
        assert node.pipelines() == ["sales"]
        assert node.exists(second, "total")  # the newer pipeline keeps its values

    def test_redefined_assets_run_the_new_code(self, node: fs.Node, make_sales: object) -> None:
        first = make_sales("sales")  # type: ignore[operator]
        node.run(first, "numbers")
        second = one_asset_pipeline("sales", value="new")
        assert node.run(second, "value_asset") == "new"


class TestCollection:
    """[1][8] a dropped pipeline disappears and its in-memory values are released."""

    @pytest.mark.timeout(20)
    def test_a_pipeline_out_of_scope_disappears_from_pipelines(self, node: fs.Node) -> None:
        run_and_drop(node, "temporary")
        wait_for(lambda: collected(node, "temporary"), message="pipeline collected")
        assert node.pipelines() == []

    @pytest.mark.timeout(20)
    def test_the_values_of_a_collected_pipeline_are_released(self, node: fs.Node) -> None:
        run_and_drop(node, "temporary", value="old")
        wait_for(lambda: collected(node, "temporary"), message="pipeline collected")

        again = one_asset_pipeline("temporary", value="new")
        assert not node.exists(again, "value_asset")
        assert node.status(again, "value_asset").state == "not_found"
        assert node.run(again, "value_asset") == "new"

    @pytest.mark.timeout(20)
    def test_a_live_pipeline_is_not_collected(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "total")
        run_and_drop(node, "temporary")
        wait_for(lambda: collected(node, "temporary"), message="pipeline collected")
        assert node.pipelines() == ["sales"]
        assert node.get(sales, "total") == 30

    @pytest.mark.timeout(20)
    def test_a_failed_run_does_not_keep_the_pipeline_alive(self, node: fs.Node) -> None:
        def run_failing() -> None:
            pipeline = fs.Pipeline("failing")

            @pipeline.asset
            def broken(ctx: fs.Context) -> int:
                raise RuntimeError("boom")

            with pytest.raises(fs.MaterializationError):
                node.run(pipeline, "broken")

        run_failing()
        wait_for(lambda: collected(node, "failing"), message="pipeline collected")

    @pytest.mark.timeout(240)
    def test_ten_thousand_dynamic_pipelines_leave_memory_flat(self, node: fs.Node) -> None:
        def churn(start: int, count: int) -> None:
            for i in range(start, start + count):
                run_and_drop(node, f"dynamic-{i}", value=i)

        def settled() -> int:
            wait_for(lambda: gc.collect() == 0 and node.pipelines() == [], message="all pipelines collected")
            return tracemalloc.get_traced_memory()[0]

        tracemalloc.start()
        try:
            churn(0, 1_000)
            warm = settled()
            churn(1_000, 10_000)
            after = settled()
        finally:
            tracemalloc.stop()
        growth = after - warm
        assert growth < 2_000_000, f"memory grew by {growth:,} B over 10,000 dropped pipelines"
