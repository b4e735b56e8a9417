"""Partition mappings on ``deps=``: which upstream partitions each partition reads."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowstone as fs
from flowstone._execution.mapped import MappedDep, load_mapped
from flowstone.io import AssetKey
from flowstone.partitions import All, Daily, Identity, Last, Static, Unpartitioned, Window, serialize

JANUARY = Daily("2025-01-01", "2025-01-30")


def day(n: int) -> date:
    return date(2025, 1, n)


@pytest.fixture
def durable_node(database_url: str) -> Iterator[fs.Node]:
    with fs.start(database_url=database_url) as started:
        yield started


def shop(calls: list[tuple[str, Any]]) -> fs.Pipeline:
    pipeline = fs.Pipeline("mapped_shop")

    @pipeline.asset
    def settings(ctx: fs.Context) -> dict[str, int]:
        calls.append(("settings", ctx.partition))
        return {"rate": 2}

    @pipeline.asset(partitions=JANUARY)
    def orders(ctx: fs.Context, settings: dict[str, int]) -> int:
        calls.append(("orders", ctx.partition))
        return ctx.partition.day * settings["rate"]  # type: ignore[union-attr]

    @pipeline.asset(partitions=JANUARY, deps={"orders": Window(start=-6, end=0)})
    def weekly(ctx: fs.Context, orders: dict[date, int]) -> list[tuple[date, int]]:
        return sorted(orders.items())

    @pipeline.asset(deps={"orders": All()})
    def month(ctx: fs.Context, orders: Any) -> int:
        return len(orders)

    @pipeline.asset(deps={"orders": Last()})
    def latest(ctx: fs.Context, orders: int) -> int:
        return orders

    return pipeline


class TestUnpartitionedUpstream:
    @pytest.mark.parametrize("parallel", [1, 4])
    def test_an_unpartitioned_upstream_is_materialized_once_for_a_30_day_backfill(
        self, durable_node: fs.Node, parallel: int
    ) -> None:
        calls: list[tuple[str, Any]] = []
        pipeline = shop(calls)
        report = durable_node.backfill(pipeline, "orders", parallel=parallel)
        assert report.succeeded == 30
        assert [c for c in calls if c[0] == "settings"] == [("settings", None)]
        assert durable_node.get(pipeline, "orders", day(30)) == 60

    def test_lineage_records_the_one_unpartitioned_value_read(self, durable_node: fs.Node) -> None:
        pipeline = shop([])
        durable_node.run(pipeline, "orders", partition=day(3))
        refs = durable_node.lineage.upstream(pipeline, "orders", day(3), depth=1)
        assert [(r.asset, r.partition) for r in refs] == [("settings", None)]

    def test_it_is_the_default_only_when_the_upstream_declares_no_set(self) -> None:
        pipeline = shop([])
        assert pipeline.mappings("orders") == {"settings": Unpartitioned()}
        assert pipeline.local_deps["orders"] == ()


class TestWindow:
    def test_day_1_of_the_set_reads_only_the_days_that_exist(self, node: fs.Node) -> None:
        assert node.run(shop([]), "weekly", partition=day(1)) == [(day(1), 2)]

    def test_a_day_reads_the_last_seven_days_and_lineage_names_each(self, node: fs.Node) -> None:
        pipeline = shop([])
        assert node.run(pipeline, "weekly", partition=day(10)) == [(day(n), 2 * n) for n in range(4, 11)]
        refs = node.lineage.upstream(pipeline, "weekly", day(10), depth=1)
        assert sorted(r.partition for r in refs) == [day(n) for n in range(4, 11)]  # type: ignore[type-var]

    def test_a_window_on_a_static_set_is_a_definition_error(self) -> None:
        pipeline = fs.Pipeline("bad_window")

        @pipeline.asset(partitions=Static(["eu", "us"]))
        def regions(ctx: fs.Context) -> str:
            return "r"

        @pipeline.asset(partitions=Static(["eu", "us"]), deps={"regions": Window(-1, 0)})
        def trend(ctx: fs.Context, regions: Any) -> Any:
            return regions

        with pytest.raises(
            fs.DefinitionError, match=r"asset 'trend', dependency 'regions': Window maps time sets"
        ):
            pipeline.validate()


class TestAllAndLast:
    def test_all_reads_every_upstream_partition_materializing_the_missing(self, node: fs.Node) -> None:
        assert node.run(shop([]), "month") == 30

    def test_last_reads_the_latest_partition(self, node: fs.Node) -> None:
        assert node.run(shop([]), "latest") == 60

    def test_all_over_100000_partitions_builds_no_list(self) -> None:
        many = Daily("1800-01-01", date(1800, 1, 1) + timedelta(days=99_999))
        io = fs.io.Memory()
        io.store(AssetKey("all_many", "tick", serialize(date(1900, 1, 1))), 7)
        reads: list[tuple[str, str]] = []
        tracemalloc.start()
        try:
            lazy = load_mapped("all_many", "tick", MappedDep(All(), many, io), None, reads, "summary")
            size = len(lazy)
            first = next(iter(lazy))
            value = lazy[date(1900, 1, 1)]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (size, first, value) == (100_000, date(1800, 1, 1), 7)
        assert reads == [("tick", "1900-01-01")]  # lineage: exactly the partition read
        assert peak < 200_000  # bytes: a list of 100,000 dates alone would be several MB


class TestCustomMappings:
    def test_a_function_maps_a_partition_to_upstream_partitions(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("custom_map")

        @pipeline.asset(partitions=JANUARY)
        def orders(ctx: fs.Context) -> int:
            return ctx.partition.day  # type: ignore[union-attr]

        def previous_and_this(partition: date) -> list[date]:
            return [partition - timedelta(days=1), partition]

        @pipeline.asset(partitions=JANUARY, deps={"orders": previous_and_this})
        def change(ctx: fs.Context, orders: dict[date, int]) -> int:
            return orders[ctx.partition] - orders[ctx.partition - timedelta(days=1)]  # type: ignore[operator]

        assert node.run(pipeline, "change", partition=day(5)) == 1

    def test_a_mapped_name_that_is_not_a_dependency_is_refused(self) -> None:
        pipeline = fs.Pipeline("bad_name")
        with pytest.raises(fs.DefinitionError, match=r"deps= maps 'other'"):

            @pipeline.asset(deps={"other": All()})
            def lonely(ctx: fs.Context) -> int:
                return 1

    def test_identity_between_a_static_and_a_daily_set_is_refused(self) -> None:
        pipeline = fs.Pipeline("bad_identity")

        @pipeline.asset(partitions=Static(["a"]))
        def up(ctx: fs.Context) -> str:
            return "a"

        @pipeline.asset(partitions=JANUARY, deps={"up": Identity()})
        def down(ctx: fs.Context, up: str) -> str:
            return up

        with pytest.raises(fs.DefinitionError, match="Identity maps"):
            pipeline.validate()


class TestEveryMappingStaysInsideTheUpstreamSet:
    @given(
        st.integers(0, 29),
        st.integers(-10, 0),
        st.integers(0, 5),
    )
    def test_window_names_only_upstream_members(self, offset: int, start: int, extra: int) -> None:
        window = Window(start=start, end=start + extra)
        found = list(window.upstream(day(1) + timedelta(days=offset), JANUARY))
        assert all(p in JANUARY for p in found)
        assert found == sorted(found)  # type: ignore[type-var]
        assert len(found) <= extra + 1

    @given(st.integers(0, 29))
    def test_all_and_last_name_upstream_members(self, offset: int) -> None:
        down = day(1) + timedelta(days=offset)
        assert list(All().upstream(down, JANUARY)) == list(JANUARY)
        assert list(Last().upstream(down, JANUARY)) == [day(30)]
        assert list(Unpartitioned().upstream(down, None)) == [None]


class TestWhenUpstreamRunsHappen:
    def test_without_deps_a_missing_mapped_upstream_fails_and_nothing_else_runs(self, node: fs.Node) -> None:
        calls: list[tuple[str, Any]] = []
        missing = r"upstream 'settings', partition 'None' \(through its partition mapping\) not materialized"
        with pytest.raises(fs.DependencyNotReadyError, match=missing):
            node.run(shop(calls), "orders", partition=day(2), with_deps=False)
        assert calls == []

    def test_a_stored_value_is_reused_without_running_its_mapped_upstream(self, node: fs.Node) -> None:
        calls: list[tuple[str, Any]] = []
        pipeline = shop(calls)
        node.run(pipeline, "weekly", partition=day(3))
        node.invalidate(pipeline, "orders", day(1))
        calls.clear()
        assert node.run(pipeline, "weekly", partition=day(3)) == [(day(n), 2 * n) for n in range(1, 4)]
        assert calls == []  # weekly was stored: orders[2025-01-01] is not run again for it
