"""Partitions at run time: only the documented types, and only declared ones when declared [6]."""

from __future__ import annotations

from datetime import UTC, date, datetime

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

    def test_a_backfill_fails_only_the_undeclared_partitions(self, node: fs.Node) -> None:
        calls: list[object] = []
        report = node.backfill(self.declared(calls), "sales", ["eu", "fr", "us"])
        assert (report.succeeded, report.failed) == (2, 1)
        assert report.failures[0].partition == "fr"
        assert isinstance(report.failures[0].error, fs.PartitionError)
        assert sorted(calls) == ["eu", "us"]  # type: ignore[type-var]

    def test_declared_partitions_are_shown_in_asset_info(self) -> None:
        options = fs.asset_info(self.declared([]), "sales").options
        assert options.partitions == ("eu", "us")
