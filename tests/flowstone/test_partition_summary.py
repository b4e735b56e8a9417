"""The summary behind ``node.partition_status`` (``flowstone_partition_states``, kept by
triggers in the transaction of every record): it always agrees with the records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, delete, insert, update

import flowstone as fs
from flowstone._partition_status import partition_status, partition_status_around
from flowstone._store.sql.schema import materializations
from flowstone.partitions import Daily, serialize

WEEK = Daily("2025-01-01", "2025-01-07")
M = materializations


def day(n: int) -> date:
    return date(2025, 1, n)


def weekly(fail_on: set[date]) -> fs.Pipeline:
    pipeline = fs.Pipeline("summary")

    @pipeline.asset(partitions=WEEK)
    def orders(ctx: fs.Context) -> str:
        if ctx.partition in fail_on:
            raise ValueError(f"no orders for {ctx.partition}")
        return "ok"

    return pipeline


@pytest.fixture
def durable(database_url: str) -> Iterator[fs.Node]:
    with fs.start(database_url=database_url) as node:
        yield node


def old_path(node: fs.Node, pipeline: fs.Pipeline) -> fs.PartitionStatus:
    """The overview built from every record, as before the summary."""
    return partition_status("orders", WEEK, node._store.partition_states(pipeline.name, "orders"))


class TestTheSummaryAgreesWithTheRecords:
    def test_after_a_backfill_with_failures(self, durable: fs.Node) -> None:
        pipeline = weekly({day(3)})
        durable.backfill(pipeline, "orders")
        status = durable.partition_status(pipeline, "orders")
        assert status == old_path(durable, pipeline)
        assert status.counts == {"completed": 6, "failed": 1}
        assert status.partitions["completed"] == ((day(1), day(2)), (day(4), day(7)))
        assert status.describe("failed") == ["2025-01-03"]

    def test_a_newer_run_of_a_failed_day_replaces_its_state(self, durable: fs.Node) -> None:
        durable.backfill(weekly({day(3)}), "orders")
        fixed = weekly(set())
        durable.run(fixed, "orders", partition=day(3))
        status = durable.partition_status(fixed, "orders")
        assert status.counts == {"completed": 7}
        assert status.partitions == {"completed": ((day(1), day(7)),)}

    def test_an_invalidated_day_reads_as_missing(self, durable: fs.Node) -> None:
        pipeline = weekly(set())
        durable.backfill(pipeline, "orders")
        durable.invalidate(pipeline, "orders", day(5))
        status = durable.partition_status(pipeline, "orders")
        assert status == old_path(durable, pipeline)
        assert status.counts == {"completed": 6, "missing": 1}

    def test_rows_written_by_hand_are_summarised_too(self, durable: fs.Node, database_url: str) -> None:
        """Triggers, not the store's code, keep the summary: no path can miss it."""
        pipeline = weekly(set())
        engine = create_engine(database_url)
        try:
            with engine.begin() as c:
                row = {"pipeline": "summary", "asset": "orders", "run_id": "r1", "attempts": 1}
                c.execute(
                    insert(M),
                    [{**row, "partition_key": serialize(day(n)), "status": "running"} for n in (1, 2)],
                )
                c.execute(
                    insert(M),
                    {**row, "run_id": "r0", "partition_key": serialize(day(3)), "status": "completed"},
                )
                c.execute(update(M).where(M.c.run_id == "r1").values(status="completed"))
                c.execute(
                    insert(M), {**row, "run_id": "r2", "partition_key": serialize(day(1)), "status": "failed"}
                )
            assert durable.partition_status(pipeline, "orders").counts == {
                "completed": 2,
                "failed": 1,
                "missing": 4,
            }
            with engine.begin() as c:  # the newest record of day 1 goes: the older one is its state
                c.execute(delete(M).where(M.c.run_id == "r2"))
            status = durable.partition_status(pipeline, "orders")
            assert status == old_path(durable, pipeline)
            assert status.counts == {"completed": 3, "missing": 4}
        finally:
            engine.dispose()


class TestTheOverviewAroundTheCommonState:
    def test_the_gaps_between_the_other_states_are_the_common_one(self) -> None:
        others = {serialize(day(3)): "failed", serialize(day(6)): "running"}
        status = partition_status_around("orders", WEEK, "completed", 5, others)
        assert status is not None
        assert status.counts == {"completed": 5, "failed": 1, "running": 1}
        assert status.partitions["completed"] == ((day(1), day(2)), (day(4), day(5)), (day(7), day(7)))
        expected = {serialize(day(n)): "completed" for n in (1, 2, 4, 5, 7)} | others
        assert status == partition_status("orders", WEEK, expected)

    def test_with_members_missing_it_cannot_tell_and_says_so(self) -> None:
        assert partition_status_around("orders", WEEK, "completed", 4, {serialize(day(3)): "failed"}) is None

    def test_keys_outside_the_set_are_not_counted(self) -> None:
        others = {serialize("eu"): "failed", serialize(date(2024, 12, 31)): "failed"}
        status = partition_status_around("orders", WEEK, "completed", 7, others)
        assert status is not None
        assert status.counts == {"completed": 7}


def test_an_hourly_utc_set_is_read_around_its_common_state(durable: fs.Node) -> None:
    hours = fs.partitions.Hourly("2025-01-01T00:00:00+00:00", "2025-01-01T05:00:00+00:00")
    pipeline = fs.Pipeline("summary_hours")

    @pipeline.asset(partitions=hours)
    def metered(ctx: fs.Context) -> int:
        if ctx.partition.hour == 2:  # type: ignore[union-attr]
            raise ValueError("no meter")
        return 1

    durable.backfill(pipeline, "metered")
    status = durable.partition_status(pipeline, "metered")
    assert status == partition_status(
        "metered", hours, durable._store.partition_states("summary_hours", "metered")
    )
    assert status.counts == {"completed": 5, "failed": 1}
    assert status.describe("failed") == ["2025-01-01T02:00:00+00:00"]
    assert hours._key_span() is not None  # type: ignore[attr-defined]
    paris = fs.partitions.Hourly("2025-01-01T00:00:00+00:00", timezone="Europe/Paris")
    assert paris._key_span() is None  # type: ignore[attr-defined]
