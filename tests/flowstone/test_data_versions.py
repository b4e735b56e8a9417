"""Data versions (issue 19): a value's lineage records the data version of each upstream
value it read (the run that materialized it), and staleness compares those versions, not
completion times. A re-run computing an equal value is a new version (docs/decisions.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, update

import flowstone as fs
from flowstone._store.sql.schema import lineage, materializations

M = materializations


def chain(value: int = 1) -> fs.Pipeline:
    pipeline = fs.Pipeline("versions")

    @pipeline.asset
    def raw(ctx: fs.Context) -> int:
        return value

    @pipeline.asset
    def clean(ctx: fs.Context, raw: int) -> int:
        return raw + 1

    return pipeline


class TestTheVersionRead:
    def test_lineage_records_the_run_that_made_each_value_read(self, any_node: fs.Node) -> None:
        pipeline = chain()
        first = any_node.run(pipeline, "raw")
        assert first == 1
        raw_run = any_node.status(pipeline, "raw").run_id
        any_node.run(pipeline, "clean")
        assert any_node._store.upstream_versions("versions", "clean", "null") == [("raw", "null", raw_run)]

    def test_an_equal_value_computed_again_is_a_new_version(self, any_node: fs.Node) -> None:
        pipeline = chain(value=1)
        any_node.run(pipeline, "clean")
        any_node.run(pipeline, "raw", force=True)  # the same value, 1, again
        assert any_node.status(pipeline, "clean").stale_reasons == (
            "upstream 'raw' was materialized again since",
        )

    def test_re_running_both_in_one_run_leaves_them_fresh(self, any_node: fs.Node) -> None:
        pipeline = chain()
        any_node.run(pipeline, "clean")
        any_node.run(pipeline, "raw", force=True)
        any_node.run(pipeline, "clean", force=True)
        assert not any_node.status(pipeline, "clean").stale


@pytest.fixture
def durable(database_url: str) -> Iterator[tuple[fs.Node, str]]:
    with fs.start(database_url=database_url) as node:
        yield node, database_url


def set_finished(url: str, asset: str, at: datetime) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(update(M).where(M.c.asset == asset).values(finished_at=at))
    finally:
        engine.dispose()


class TestVersionsNotClocks:
    def test_a_downstream_whose_clock_ran_behind_is_still_fresh(self, durable: tuple[fs.Node, str]) -> None:
        node, url = durable
        pipeline = chain()
        node.run(pipeline, "clean")
        set_finished(url, "clean", datetime.now(UTC) - timedelta(days=1))  # before raw's, by the clock
        assert not node.status(pipeline, "clean").stale

    def test_an_upstream_rerun_stamped_earlier_is_still_a_new_value(
        self, durable: tuple[fs.Node, str]
    ) -> None:
        node, url = durable
        pipeline = chain()
        node.run(pipeline, "clean")
        node.run(pipeline, "raw", force=True)
        set_finished(url, "raw", datetime(2000, 1, 1, tzinfo=UTC))  # a clock far behind
        assert node.status(pipeline, "clean").stale_reasons == (
            "upstream 'raw' was materialized again since",
        )

    def test_edges_without_a_version_are_judged_by_completion_time(
        self, durable: tuple[fs.Node, str]
    ) -> None:
        """Lineage written before migration 0012 has no version: the clock decides, as before."""
        node, url = durable
        pipeline = chain()
        node.run(pipeline, "clean")
        engine = create_engine(url)
        try:
            with engine.begin() as c:
                c.execute(update(lineage).values(upstream_run_id=None))
        finally:
            engine.dispose()
        assert not node.status(pipeline, "clean").stale
        set_finished(url, "raw", datetime.now(UTC) + timedelta(days=1))
        assert node.status(pipeline, "clean").stale
