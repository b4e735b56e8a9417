"""``node.partition_status``: counts per state of every partition of an asset, and which."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, insert

import flowstone as fs
from flowstone._partition_status import partition_status
from flowstone._store.sql.schema import materializations
from flowstone.partitions import Daily, Hourly, Static, serialize

JANUARY = Daily("2025-01-01", "2025-01-31")


def day(n: int) -> date:
    return date(2025, 1, n)


class TestTheOverviewOfATimeSet:
    def test_states_are_counted_and_compressed_into_ranges(self) -> None:
        states = {serialize(day(n)): "completed" for n in range(1, 11)}
        states |= {serialize(day(12)): "failed", serialize(day(13)): "failed", serialize(day(20)): "running"}
        status = partition_status("orders", JANUARY, states)
        assert status.total == 31
        assert status.counts == {"completed": 10, "failed": 2, "running": 1, "missing": 18}
        assert status.partitions["completed"] == ((day(1), day(10)),)
        assert status.partitions["failed"] == ((day(12), day(13)),)
        assert status.partitions["missing"] == ((day(11), day(11)), (day(14), day(19)), (day(21), day(31)))
        assert status.summary() == "10 of 31 days materialized, 2 failed, 1 running"
        assert status.describe("missing") == [
            "2025-01-11",
            "2025-01-14..2025-01-19",
            "2025-01-21..2025-01-31",
        ]

    def test_a_set_never_run_is_all_missing_in_one_range(self) -> None:
        status = partition_status("orders", JANUARY, {})
        assert status.counts == {"missing": 31}
        assert status.partitions == {"missing": ((day(1), day(31)),)}

    def test_records_outside_the_set_are_not_counted(self) -> None:
        states = {serialize(date(2024, 12, 31)): "completed", serialize("eu"): "failed"}
        assert partition_status("orders", JANUARY, states).counts == {"missing": 31}

    def test_100000_days_are_a_few_ranges(self) -> None:
        long = Daily("1800-01-01", date(1800, 1, 1) + timedelta(days=99_999))
        states = {serialize(p): "completed" for p in long}  # type: ignore[arg-type]
        states[serialize(date(1850, 1, 1))] = "failed"
        status = partition_status("orders", long, states)
        assert status.counts == {"completed": 99_999, "failed": 1}
        assert len(status.partitions["completed"]) == 2


class TestTheOverviewOfOtherSets:
    def test_a_static_set_lists_its_partitions_in_order(self) -> None:
        regions = Static(["eu", "us", "asia"])
        status = partition_status(
            "sales", regions, {serialize("us"): "completed", serialize("asia"): "failed"}
        )
        assert status.partitions == {"completed": ("us",), "failed": ("asia",), "missing": ("eu",)}
        assert status.summary() == "1 of 3 partitions materialized, 1 failed"

    def test_without_a_set_the_recorded_partitions_are_counted(self) -> None:
        status = partition_status("sales", None, {serialize("a"): "completed", serialize(None): "completed"})
        assert status.total == 2
        assert status.counts == {"completed": 2}


@pytest.fixture
def durable_node(database_url: str) -> Iterator[fs.Node]:
    with fs.start(database_url=database_url) as started:
        yield started


def daily_pipeline(fail_on: set[date]) -> fs.Pipeline:
    pipeline = fs.Pipeline("overview")

    @pipeline.asset(partitions=Daily("2025-01-01", "2025-01-10"))
    def orders(ctx: fs.Context) -> str:
        if ctx.partition in fail_on:
            raise ValueError(f"no orders for {ctx.partition}")
        return "ok"

    return pipeline


class TestOnAStore:
    def test_the_overview_counts_what_a_backfill_left(self, durable_node: fs.Node) -> None:
        pipeline = daily_pipeline({day(4), day(5)})
        durable_node.backfill(pipeline, "orders", Daily("2025-01-01", "2025-01-08"))
        status = durable_node.partition_status(pipeline, "orders")
        assert status.counts == {"completed": 6, "failed": 2, "missing": 2}
        assert status.describe("failed") == ["2025-01-04..2025-01-05"]
        assert status.summary() == "6 of 10 days materialized, 2 failed"
        assert status.to_json()["partitions"]["missing"] == ["2025-01-09..2025-01-10"]

    def test_the_overview_of_100000_partitions(self, database_url: str) -> None:
        long = Daily("1800-01-01", date(1800, 1, 1) + timedelta(days=99_999))
        pipeline = fs.Pipeline("big_overview")

        @pipeline.asset(partitions=long)
        def daily(ctx: fs.Context) -> int:
            return 1

        with fs.start(database_url=database_url) as node:
            engine = create_engine(database_url)
            try:
                rows = [
                    {
                        "pipeline": "big_overview",
                        "asset": "daily",
                        "partition_key": serialize(p),
                        "run_id": "seed",
                        "status": "failed" if index % 1000 == 0 else "completed",
                        "attempts": 1,
                    }
                    for index, p in enumerate(long)
                ]
                with engine.begin() as connection:
                    connection.execute(insert(materializations), rows)
            finally:
                engine.dispose()
            status = node.partition_status(pipeline, "daily")
        assert status.counts == {"completed": 99_900, "failed": 100}
        assert status.total == 100_000
        assert len(status.partitions["failed"]) == 100


def test_the_memory_store_gives_the_same_overview(node: fs.Node) -> None:
    pipeline = daily_pipeline({day(2)})
    node.backfill(pipeline, "orders", Daily("2025-01-01", "2025-01-03"))
    status = node.partition_status(pipeline, "orders")
    assert status.counts == {"completed": 2, "failed": 1, "missing": 7}
    assert status.describe("completed") == ["2025-01-01", "2025-01-03"]


class TestKeyPositions:
    """The overview reads stored keys by a fast path; it must agree with the decoder."""

    # Text a partition may hold: no NUL and no lone surrogates (a PartitionError otherwise).
    _texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)

    @given(st.one_of(st.dates(), _texts, st.integers(), st.datetimes(timezones=st.just(UTC))))
    def test_a_stored_key_is_placed_exactly_where_its_partition_is(self, value: object) -> None:
        for pset in (Daily("0001-01-01"), Hourly("1970-01-01T00:00:00+00:00")):
            expected = pset._position(value)  # type: ignore[attr-defined]
            assert pset._key_position(serialize(value)) == expected  # type: ignore[attr-defined,arg-type]
