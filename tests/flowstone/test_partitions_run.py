"""Partitions at run time: only the documented types, and only declared ones when declared [6]."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

import flowstone as fs

INVALID = [
    pytest.param(1.5, id="float"),
    pytest.param(datetime(2024, 1, 1, 12, 0), id="naive-datetime"),
    pytest.param(object(), id="object"),
    pytest.param(True, id="bool"),
    pytest.param(((((("deep",),),),),), id="five-deep-tuple"),
    pytest.param("nul\x00byte", id="nul"),
    pytest.param("lone\ud800surrogate", id="lone-surrogate"),
    pytest.param("x" * 2000, id="over-1024-bytes"),
]

VALID = [
    pytest.param(None, id="none"),
    pytest.param("2024-01-01", id="str-that-looks-like-a-date"),
    pytest.param(1, id="int"),
    pytest.param(date(2024, 1, 1), id="date"),
    pytest.param(datetime(2024, 1, 1, 12, tzinfo=UTC), id="aware-datetime"),
    pytest.param(("eu", 2024, date(2024, 1, 1)), id="tuple"),
]


def echo_pipeline(calls: list[object]) -> fs.Pipeline:
    pipeline = fs.Pipeline("partitioned")

    @pipeline.asset
    def echo(ctx: fs.Context) -> object:
        calls.append(ctx.partition)
        return ctx.partition

    return pipeline


class TestInvalidPartitions:
    @pytest.mark.parametrize("partition", INVALID)
    def test_running_with_an_invalid_partition_raises_partition_error(
        self, node: fs.Node, partition: object
    ) -> None:
        calls: list[object] = []
        with pytest.raises(fs.PartitionError):
            node.run(echo_pipeline(calls), "echo", partition=partition)  # type: ignore[arg-type]
        assert calls == []

    @pytest.mark.parametrize("partition", INVALID[:2])
    def test_reading_with_an_invalid_partition_raises_partition_error(
        self, node: fs.Node, partition: object
    ) -> None:
        pipeline = echo_pipeline([])
        for read in (node.get, node.exists, node.status):
            with pytest.raises(fs.PartitionError):
                read(pipeline, "echo", partition)  # type: ignore[operator]

    def test_the_error_says_what_is_allowed(self, node: fs.Node) -> None:
        with pytest.raises(fs.PartitionError) as caught:
            node.run(echo_pipeline([]), "echo", partition=1.5)  # type: ignore[arg-type]
        assert "float" in str(caught.value) or "1.5" in str(caught.value)
        assert "str" in str(caught.value)

    def test_a_naive_datetime_error_asks_for_a_timezone(self, node: fs.Node) -> None:
        with pytest.raises(fs.PartitionError, match=r"(?i)time ?zone|aware|tzinfo"):
            node.run(echo_pipeline([]), "echo", partition=datetime(2024, 1, 1))

    def test_an_invalid_partition_in_a_backfill_fails_only_that_partition(self, node: fs.Node) -> None:
        calls: list[object] = []
        report = node.backfill(echo_pipeline(calls), "echo", ["a", 1.5, "b"])  # type: ignore[list-item]
        assert (report.succeeded, report.failed) == (2, 1)
        (failure,) = report.failures
        assert isinstance(failure.error, fs.PartitionError)
        assert sorted(calls) == ["a", "b"]  # type: ignore[type-var]


class TestValidPartitions:
    @pytest.mark.parametrize("partition", VALID)
    def test_every_documented_type_round_trips_through_a_run(self, node: fs.Node, partition: object) -> None:
        calls: list[object] = []
        pipeline = echo_pipeline(calls)
        assert node.run(pipeline, "echo", partition=partition) == partition  # type: ignore[arg-type]
        assert calls == [partition]
        assert type(calls[0]) is type(partition)
        assert node.status(pipeline, "echo", partition).partition == partition  # type: ignore[arg-type]

    def test_a_string_and_an_int_of_the_same_text_are_different_partitions(self, node: fs.Node) -> None:
        calls: list[object] = []
        pipeline = echo_pipeline(calls)
        node.run(pipeline, "echo", partition="1")
        assert not node.exists(pipeline, "echo", 1)
        node.run(pipeline, "echo", partition=1)
        assert calls == ["1", 1]

    def test_a_date_and_its_iso_string_are_different_partitions(self, node: fs.Node) -> None:
        pipeline = echo_pipeline([])
        node.run(pipeline, "echo", partition=date(2024, 1, 1))
        assert not node.exists(pipeline, "echo", "2024-01-01")
        assert node.get(pipeline, "echo", date(2024, 1, 1)) == date(2024, 1, 1)


class TestDeclaredPartitions:
    """[6] an asset that declares its partitions accepts no others."""

    def declared(self, calls: list[object]) -> fs.Pipeline:
        pipeline = fs.Pipeline("regional")

        @pipeline.asset(partitions=("eu", "us"))
        def sales(ctx: fs.Context) -> str:
            calls.append(ctx.partition)
            return f"sales {ctx.partition}"

        return pipeline

    def test_a_declared_partition_runs(self, node: fs.Node) -> None:
        calls: list[object] = []
        pipeline = self.declared(calls)
        assert node.run(pipeline, "sales", partition="eu") == "sales eu"
        assert node.run(pipeline, "sales", partition="us") == "sales us"
        assert calls == ["eu", "us"]

    @pytest.mark.parametrize("partition", ["fr", None, "EU"])
    def test_an_undeclared_partition_is_rejected(self, node: fs.Node, partition: str | None) -> None:
        calls: list[object] = []
        pipeline = self.declared(calls)
        with pytest.raises(fs.PartitionError, match="declared"):
            node.run(pipeline, "sales", partition=partition)
        assert calls == []
        assert node.status(pipeline, "sales", partition).state == "not_found"

    def test_a_backfill_list_with_an_undeclared_partition_is_refused_before_anything_runs(
        self, node: fs.Node
    ) -> None:
        calls: list[object] = []
        with pytest.raises(fs.PartitionError, match=r"'fr' is not in the declared set Static"):
            node.backfill(self.declared(calls), "sales", ["eu", "fr", "us"])
        assert calls == []

    def test_a_lazy_backfill_fails_only_the_undeclared_partitions(self, node: fs.Node) -> None:
        calls: list[object] = []
        report = node.backfill(self.declared(calls), "sales", iter(["eu", "fr", "us"]))
        assert (report.succeeded, report.failed) == (2, 1)
        assert report.failures[0].partition == "fr"
        assert isinstance(report.failures[0].error, fs.PartitionError)
        assert sorted(calls) == ["eu", "us"]  # type: ignore[type-var]

    def test_declared_partitions_are_shown_in_asset_info(self) -> None:
        options = fs.asset_info(self.declared([]), "sales").options
        assert options.partitions == fs.partitions.Static(["eu", "us"])
        assert tuple(options.partitions) == ("eu", "us")


class TestDeclaredSets:
    """Issue 19: an asset declares a partition set; a backfill without partitions covers it."""

    def daily(self, calls: list[object], pset: fs.partitions.PartitionSet) -> fs.Pipeline:
        pipeline = fs.Pipeline("declared_sets")

        @pipeline.asset(partitions=pset)
        def orders(ctx: fs.Context) -> str:
            calls.append(ctx.partition)
            return f"orders {ctx.partition}"

        return pipeline

    @pytest.fixture
    def durable_node(self, database_url: str) -> Iterator[fs.Node]:
        with fs.start(database_url=database_url) as started:
            yield started

    def test_a_backfill_without_partitions_covers_the_declared_set(self, durable_node: fs.Node) -> None:
        calls: list[object] = []
        january = fs.partitions.Daily("2025-01-01", "2025-01-10")
        pipeline = self.daily(calls, january)
        report = durable_node.backfill(pipeline, "orders")
        assert (report.total, report.succeeded) == (10, 10)
        assert sorted(calls) == list(january)  # type: ignore[type-var]
        assert durable_node.status(pipeline, "orders", date(2025, 1, 10)).state == "completed"

    def test_an_open_ended_set_is_backfilled_up_to_today(self, node: fs.Node) -> None:
        calls: list[object] = []
        today = datetime.now(UTC).date()
        pipeline = self.daily(calls, fs.partitions.Daily(today - timedelta(days=2)))
        report = node.backfill(pipeline, "orders")
        assert report.succeeded in {3, 3 + (datetime.now(UTC).date() - today).days}
        assert min(calls) == today - timedelta(days=2)  # type: ignore[type-var]

    def test_a_range_outside_the_declared_set_is_refused_before_anything_runs(
        self, durable_node: fs.Node
    ) -> None:
        calls: list[object] = []
        pipeline = self.daily(calls, fs.partitions.Daily("2025-01-01", "2025-01-31"))
        with pytest.raises(fs.PartitionError, match=r"asset 'orders'.*2025-02-01.*Daily\(start=2025-01-01"):
            durable_node.backfill(pipeline, "orders", fs.partitions.Daily("2025-01-25", "2025-02-01"))
        assert calls == []
        assert durable_node.status(pipeline, "orders", date(2025, 1, 25)).state == "not_found"

    def test_a_durable_backfill_outside_the_set_enqueues_nothing(self, durable_node: fs.Node) -> None:
        pipeline = self.daily([], fs.partitions.Static(["eu", "us"]))
        with pytest.raises(fs.PartitionError, match="'fr' is not in the declared set"):
            durable_node.backfill(pipeline, "orders", ["eu", "fr"], durable=True)
        assert durable_node.jobs.list() == []

    def test_a_run_outside_the_set_is_refused_naming_the_set(self, node: fs.Node) -> None:
        calls: list[object] = []
        pipeline = self.daily(calls, fs.partitions.Hourly("2025-01-01T00:00:00+00:00"))
        with pytest.raises(
            fs.PartitionError, match=r"not in the declared set Hourly\(start=2025-01-01T00:00:00\+00:00\)"
        ):
            node.run(pipeline, "orders", partition=datetime(2024, 12, 31, 23, tzinfo=UTC))
        assert calls == []

    def test_a_backfill_without_partitions_of_an_asset_without_a_set_says_what_to_do(
        self, node: fs.Node
    ) -> None:
        with pytest.raises(fs.OptionError, match="declares no partition set"):
            node.backfill(echo_pipeline([]), "echo")

    def test_a_multi_partition_runs_as_a_plain_tuple(self, node: fs.Node) -> None:
        calls: list[object] = []
        pset = fs.partitions.Multi(
            region=fs.partitions.Static(["eu", "us"]), day=fs.partitions.Daily("2025-01-01", "2025-01-02")
        )
        report = node.backfill(self.daily(calls, pset), "orders")
        assert report.succeeded == 4
        assert ("us", date(2025, 1, 2)) in calls
