"""Missing upstream partitions read through a mapping are materialized in the run that
needs them (issue 19): one run id in records, lineage, events and tags, an unpartitioned
upstream once, and one run row and one start for the run."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, select

import flowstone as fs
from flowstone._store.sql.schema import lineage, runs
from flowstone.partitions import Daily, Window

JANUARY = Daily("2025-01-01", "2025-01-30")


def day(n: int) -> date:
    return date(2025, 1, n)


def shop(calls: list[tuple[str, Any, str]]) -> fs.Pipeline:
    pipeline = fs.Pipeline("one_run")

    @pipeline.asset
    def settings(ctx: fs.Context) -> int:
        calls.append(("settings", ctx.partition, ctx.run_id))
        return 2

    @pipeline.asset(partitions=JANUARY)
    def orders(ctx: fs.Context, settings: int) -> int:
        calls.append(("orders", ctx.partition, ctx.run_id))
        return ctx.partition.day * settings  # type: ignore[union-attr]

    @pipeline.asset(partitions=JANUARY, deps={"orders": Window(start=-6, end=0)})
    def weekly(ctx: fs.Context, orders: dict[date, int]) -> str:
        calls.append(("weekly", ctx.partition, ctx.run_id))
        return ctx.run_id

    return pipeline


class TestOneRun:
    def test_the_window_and_its_unpartitioned_upstream_run_under_the_runs_id(self, any_node: fs.Node) -> None:
        calls: list[tuple[str, Any, str]] = []
        pipeline = shop(calls)
        run_id = any_node.run(pipeline, "weekly", partition=day(10), tags={"team": "ops"})
        assert {c[2] for c in calls} == {run_id}
        assert [c[:2] for c in calls if c[0] == "settings"] == [("settings", None)]
        assert sorted(c[1] for c in calls if c[0] == "orders") == [day(n) for n in range(4, 11)]
        for asset, partition in [("settings", None), ("orders", day(4)), ("orders", day(10))]:
            assert any_node.status(pipeline, asset, partition).run_id == run_id

    def test_the_run_has_one_start_and_one_end(self, any_node: fs.Node) -> None:
        run_id = any_node.run(shop([]), "weekly", partition=day(3), tags={"team": "ops"})
        mine = [e for e in any_node.audit() if e.details.get("run_id") == run_id]
        assert sorted(e.event_type for e in mine) == ["run.finished", "run.started"]
        assert mine[0].resource.startswith("one_run/weekly/")
        assert dict(any_node.run_tags(run_id)) == {"team": "ops"}

    def test_events_of_the_upstream_partitions_carry_the_runs_id_and_tags(self, any_node: fs.Node) -> None:
        events: list[object] = []
        with any_node.events.subscribe(events.append):
            run_id = any_node.run(shop([]), "weekly", partition=day(2), tags={"team": "ops"})
        finished = [e for e in events if isinstance(e, fs.events.MaterializationFinished)]
        assert sorted(e.asset for e in finished) == ["orders", "orders", "settings", "weekly"]
        assert {e.run_id for e in finished} == {run_id}
        assert all(dict(e.tags) == {"team": "ops"} for e in finished)

    def test_a_backfill_materializes_the_unpartitioned_upstream_once_in_its_first_run(
        self, any_node: fs.Node
    ) -> None:
        calls: list[tuple[str, Any, str]] = []
        pipeline = shop(calls)
        report = any_node.backfill(pipeline, "orders", parallel=1)
        assert report.succeeded == 30
        settings = [c for c in calls if c[0] == "settings"]
        assert len(settings) == 1
        first = next(c for c in calls if c[0] == "orders" and c[1] == day(1))
        assert settings[0][2] == first[2]  # the run of the first day
        assert len({c[2] for c in calls}) == 30  # one run per day, no run of its own for settings

    def test_a_failing_upstream_fails_the_run_before_its_plan(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("one_run_failing")

        @pipeline.asset
        def settings(ctx: fs.Context) -> int:
            raise ValueError("no settings")

        @pipeline.asset(partitions=JANUARY)
        def orders(ctx: fs.Context, settings: int) -> int:
            return 1

        with pytest.raises(fs.MaterializationError, match="no settings"):
            any_node.run(pipeline, "orders", partition=day(1), tags={"team": "ops"})
        settings_status = any_node.status(pipeline, "settings")
        assert settings_status.state == "failed"
        orders_status = any_node.status(pipeline, "orders", day(1))
        assert orders_status.state == "failed"  # the run failed: not missing in the overview
        assert orders_status.run_id == settings_status.run_id
        mine = [e for e in any_node.audit() if e.details.get("run_id") == orders_status.run_id]
        assert sorted(e.event_type for e in mine if e.event_type.startswith("run.")) == [
            "run.failed",
            "run.started",
        ] or sorted(e.event_type for e in mine) == ["run.failed", "run.failed", "run.started"]
        assert all(e.details["tags"] == {"team": "ops"} for e in mine if e.event_type == "run.started")

    def test_a_backfill_day_whose_upstream_failed_reads_as_failed(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("one_run_failing_days")

        @pipeline.asset
        def settings(ctx: fs.Context) -> int:
            raise ValueError("no settings")

        @pipeline.asset(partitions=Daily("2025-01-01", "2025-01-03"))
        def orders(ctx: fs.Context, settings: int) -> int:
            return 1

        report = any_node.backfill(pipeline, "orders")
        assert report.failed == 3
        assert any_node.partition_status(pipeline, "orders").counts == {"failed": 3}


def test_lineage_rows_of_the_upstream_partitions_name_the_run(database_url: str) -> None:
    with fs.start(database_url=database_url) as node:
        run_id = node.run(shop([]), "weekly", partition=day(2))
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(select(lineage.c.asset, lineage.c.run_id)).all()
            run_rows = c.execute(select(runs.c.run_id, runs.c.asset)).all()
    finally:
        engine.dispose()
    assert sorted(rows) == [("orders", run_id)] * 2 + [("weekly", run_id)] * 2
    assert run_rows == [(run_id, "weekly")]
