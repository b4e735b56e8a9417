"""A backfill runs the upstream partitions its window of days misses together (issue 19,
``flowstone._execution.upstream``), with the semantics of one reader at a time: each
upstream day once, within the run of the first day that reads it, a failed one failing
that day only and tried again by the next day that reads it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import flowstone as fs
from flowstone._execution import runner
from flowstone._execution.task import MaterializeMany
from flowstone.partitions import Daily, Window

JANUARY = Daily("2025-01-01", "2025-01-20")


def day(n: int) -> date:
    return date(2025, 1, n)


def shop(name: str, calls: list[tuple[str, Any, str]], fail_once: set[date] | None = None) -> fs.Pipeline:
    pipeline = fs.Pipeline(name)
    failing = set(fail_once or ())

    @pipeline.asset
    def settings(ctx: fs.Context) -> int:
        calls.append(("settings", ctx.partition, ctx.run_id))
        return 2

    @pipeline.asset(partitions=JANUARY, retry=fs.Retry(max_attempts=1))
    def orders(ctx: fs.Context, settings: int) -> int:
        calls.append(("orders", ctx.partition, ctx.run_id))
        if ctx.partition in failing:
            failing.discard(ctx.partition)  # type: ignore[arg-type]
            raise ValueError(f"no orders on {ctx.partition}")
        return ctx.partition.day * settings  # type: ignore[union-attr]

    @pipeline.asset(partitions=JANUARY, deps={"orders": Window(start=-2, end=0)})
    def weekly(ctx: fs.Context, orders: dict[date, int]) -> int:
        calls.append(("weekly", ctx.partition, ctx.run_id))
        return sum(orders.values())

    return pipeline


def runs_of(calls: list[tuple[str, Any, str]], asset: str) -> dict[Any, list[str]]:
    found: dict[Any, list[str]] = {}
    for name, partition, run_id in calls:
        if name == asset:
            found.setdefault(partition, []).append(run_id)
    return found


@pytest.mark.parametrize("parallel", [1, 3])
def test_each_upstream_day_runs_once_in_the_first_reading_days_run(any_node: fs.Node, parallel: int) -> None:
    calls: list[tuple[str, Any, str]] = []
    pipeline = shop(f"window_backfill_{parallel}", calls)
    report = any_node.backfill(pipeline, "weekly", parallel=parallel)
    assert report.succeeded == 20
    weekly, orders = runs_of(calls, "weekly"), runs_of(calls, "orders")
    assert sorted(orders) == [day(n) for n in range(1, 21)]
    assert all(len(ids) == 1 for ids in orders.values())
    assert all(orders[day(n)] == weekly[day(n)] for n in range(1, 21))
    assert len(runs_of(calls, "settings")[None]) == 1
    assert any_node.run(pipeline, "weekly", partition=day(9)) == (7 + 8 + 9) * 2  # the stored value
    assert any_node.status(pipeline, "orders", day(9)).run_id == weekly[day(9)][0]


def test_a_backfill_from_mid_month_runs_the_days_before_within_its_first_run(any_node: fs.Node) -> None:
    calls: list[tuple[str, Any, str]] = []
    pipeline = shop("window_backfill_mid", calls)
    report = any_node.backfill(pipeline, "weekly", [day(n) for n in range(10, 14)])
    assert report.succeeded == 4
    weekly, orders = runs_of(calls, "weekly"), runs_of(calls, "orders")
    assert sorted(orders) == [day(n) for n in range(8, 14)]
    assert {orders[day(n)][0] for n in (8, 9, 10)} == set(weekly[day(10)])
    assert orders[day(13)] == weekly[day(13)]


def test_a_failed_upstream_day_fails_its_reader_and_the_next_reader_tries_it_again(any_node: fs.Node) -> None:
    calls: list[tuple[str, Any, str]] = []
    pipeline = shop("window_backfill_failing", calls, fail_once={day(5)})
    report = any_node.backfill(pipeline, "weekly", [day(n) for n in range(1, 9)])
    assert (report.succeeded, report.failed) == (7, 1)
    assert [f.partition for f in report.failures] == [day(5)]
    assert "no orders" in str(report.failures[0].error)
    orders = runs_of(calls, "orders")
    assert len(orders[day(5)]) == 2  # day 5's run, then day 6's
    assert orders[day(5)][1] == runs_of(calls, "weekly")[day(6)][0]
    assert any_node.status(pipeline, "weekly", day(5)).state == "failed"
    assert any_node.status(pipeline, "orders", day(5)).state == "completed"


def test_lineage_of_a_backfilled_day_names_the_window_read(any_node: fs.Node) -> None:
    pipeline = shop("window_backfill_lineage", [])
    any_node.backfill(pipeline, "weekly", [day(n) for n in range(1, 6)], parallel=2)
    refs = any_node.lineage.upstream(pipeline, "weekly", day(4), depth=1)
    assert sorted(r.partition for r in refs) == [day(2), day(3), day(4)]  # type: ignore[type-var]


def test_the_upstream_days_of_a_window_share_runner_messages(
    node: fs.Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 readers and 20 upstream days: one message per reader, the upstream days chunked
    (one message each before, 40 in all)."""
    messages: list[object] = []
    receive = runner.RunnerActor.on_receive

    def counted(self: runner.RunnerActor, message: Any) -> Any:
        messages.append(message)
        return receive(self, message)

    monkeypatch.setattr(runner.RunnerActor, "on_receive", counted)
    report = node.backfill(shop("window_backfill_chunks", []), "weekly")
    assert report.succeeded == 20
    assert any(isinstance(m, MaterializeMany) for m in messages)
    assert len(messages) < 33  # 20 readers + settings + the upstream days in a few chunks
