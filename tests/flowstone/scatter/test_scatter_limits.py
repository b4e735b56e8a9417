"""Concurrency, rate and timeout of a scatter's keys, as they run."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import flowstone as fs


def peak_pipeline(keys: int, max_concurrent: int) -> tuple[fs.Pipeline, dict[str, int]]:
    seen = {"running": 0, "peak": 0, "ran": 0}
    lock = threading.Lock()
    pipeline = fs.Pipeline("peak")

    @pipeline.asset(
        scatter=fs.Scatter(
            keys=lambda ctx: range(keys),
            max_concurrent=max_concurrent,
            gather=lambda ctx, r: sum(1 for _ in r),
        )
    )
    def bounded(ctx: fs.Context) -> int:
        with lock:
            seen["running"] += 1
            seen["ran"] += 1
            seen["peak"] = max(seen["peak"], seen["running"])
        time.sleep(0)  # let another worker in while this one counts as running
        with lock:
            seen["running"] -= 1
        return 1

    return pipeline, seen


def test_ten_thousand_keys_with_max_concurrent_ten_all_complete_in_memory() -> None:
    """The original's deadlock: 100 items with max 10 snoozed forever."""
    pipeline, seen = peak_pipeline(10_000, 10)
    with fs.start(max_concurrency=16) as node:
        assert node.run(pipeline, "bounded") == 10_000
    assert seen["ran"] == 10_000
    assert 1 <= seen["peak"] <= 10


@pytest.mark.slow
def test_ten_thousand_keys_with_max_concurrent_ten_all_complete_on_a_database(database_url: str) -> None:
    pipeline, seen = peak_pipeline(10_000, 10)
    with fs.start(database_url=database_url, max_concurrency=16) as node:
        assert node.run(pipeline, "bounded") == 10_000
    assert 1 <= seen["peak"] <= 10


def test_the_barrier_never_leases_more_than_max_concurrent(any_node: fs.Node) -> None:
    pipeline = fs.Pipeline("leases")
    most = [0]

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(60), max_concurrent=3))
    def watched(ctx: fs.Context) -> int:
        return int(ctx.scatter_key)

    def watch(event: Any) -> None:
        if isinstance(event, fs.events.ScatterKeyDone):
            progress = any_node.scatter_progress(event.run_id, "watched")
            if progress is not None:
                most[0] = max(most[0], progress.running)

    with any_node.events.subscribe(watch):
        assert any_node.run(pipeline, "watched") == list(range(60))
    assert most[0] <= 3


def test_a_rate_spaces_the_starts(node: fs.Node) -> None:
    starts: list[float] = []
    lock = threading.Lock()
    pipeline = fs.Pipeline("rated")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(12), rate=fs.Rate(40, per=1.0)))
    def rated(ctx: fs.Context) -> int:
        with lock:
            starts.append(time.monotonic())
        return 1

    assert node.run(pipeline, "rated") == [1] * 12
    starts.sort()
    # 40 per second is one start per 25 ms: 12 starts span at least 11 intervals.
    assert starts[-1] - starts[0] >= 11 * 0.025 * 0.9


def test_the_assets_timeout_bounds_each_key_not_the_scatter(node: fs.Node) -> None:
    release = threading.Event()
    pipeline = fs.Pipeline("timeouts")

    @pipeline.asset(timeout=0.2, scatter=fs.Scatter(keys=lambda ctx: range(8), tolerate=0.2))
    def mostly_quick(ctx: fs.Context) -> int:
        if ctx.scatter_key == 3:
            release.wait(5)  # longer than the timeout: this key fails
        return int(ctx.scatter_key)

    try:
        value = node.run(pipeline, "mostly_quick")
    finally:
        release.set()
    assert value == [0, 1, 2, 4, 5, 6, 7]


def test_batches_by_bytes_and_group_run_as_batches(node: fs.Node) -> None:
    pipeline = fs.Pipeline("grouped")
    keys = [{"region": r, "n": n} for n in range(3) for r in ("eu", "us")]

    @pipeline.asset(
        scatter=fs.Scatter(
            keys=lambda ctx: keys, batch=fs.Batch(max_items=10, group_by=lambda k: k["region"])
        )
    )
    def per_region(ctx: fs.Context) -> tuple[str, int]:
        assert ctx.batch is not None
        regions = {k["region"] for k in ctx.batch.items}
        assert len(regions) == 1
        return regions.pop(), len(ctx.batch)

    assert sorted(node.run(pipeline, "per_region")) == [("eu", 3), ("us", 3)]
