"""A scatter asset runs once per key and gathers: on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import flowstone as fs
from tests.flowstone.gate import Gate


def regions_pipeline(scatter: fs.Scatter, name: str = "sales") -> fs.Pipeline:
    pipeline = fs.Pipeline(name)

    @pipeline.asset
    def regions(ctx: fs.Context) -> list[str]:
        return ["eu", "us", "asia", "africa"]

    @pipeline.asset(scatter=scatter)
    def sales(ctx: fs.Context, regions: list[str]) -> int:
        return len(ctx.scatter_key["region"])

    return pipeline


def region_keys(ctx: fs.Context, regions: list[str]) -> Iterator[dict[str, str]]:
    return ({"region": r} for r in regions)


def test_the_contract_example_runs_once_per_key_and_gathers(any_node: fs.Node) -> None:
    scatter = fs.Scatter(
        keys=region_keys,
        max_concurrent=8,
        tolerate=0.05,
        gather=lambda ctx, results: sum(v for _, v in results),
    )
    assert any_node.run(regions_pipeline(scatter), "sales") == 2 + 2 + 4 + 6


def test_without_gather_the_value_is_the_list_of_values_in_key_order(any_node: fs.Node) -> None:
    pipeline = fs.Pipeline("order")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: [5, 3, 9, 1], max_concurrent=4))
    def doubled(ctx: fs.Context) -> int:
        return int(ctx.scatter_key) * 2

    assert any_node.run(pipeline, "doubled") == [10, 6, 18, 2]
    assert any_node.get(pipeline, "doubled") == [10, 6, 18, 2]


def test_gather_streams_key_value_pairs_in_key_order(any_node: fs.Node) -> None:
    seen: list[Any] = []
    pipeline = fs.Pipeline("pairs")

    def gather(ctx: fs.Context, results: Any) -> int:
        assert not isinstance(results, list)
        seen.extend(results)
        return len(results)

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: ({"n": n} for n in range(30)), gather=gather))
    def squares(ctx: fs.Context) -> int:
        return int(ctx.scatter_key["n"]) ** 2

    assert any_node.run(pipeline, "squares") == 30
    assert seen == [({"n": n}, n * n) for n in range(30)]


def test_duplicate_keys_run_once(any_node: fs.Node) -> None:
    calls: list[Any] = []
    lock = threading.Lock()
    pipeline = fs.Pipeline("dups")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: ["a", "b", "a", ("t", 1), ("t", 1), "b"]))
    def echo(ctx: fs.Context) -> Any:
        with lock:
            calls.append(ctx.scatter_key)
        return ctx.scatter_key

    assert any_node.run(pipeline, "echo") == ["a", "b", ("t", 1)]
    assert sorted(map(repr, calls)) == sorted(map(repr, ["a", "b", ("t", 1)]))


def test_each_key_has_the_assets_retry(any_node: fs.Node) -> None:
    attempts: dict[int, int] = {}
    lock = threading.Lock()
    pipeline = fs.Pipeline("retries")

    @pipeline.asset(
        retry=fs.Retry(max_attempts=3, base_delay=0.0), scatter=fs.Scatter(keys=lambda ctx: [1, 2, 3])
    )
    def flaky(ctx: fs.Context) -> int:
        with lock:
            attempts[ctx.scatter_key] = ctx.attempt
        if ctx.scatter_key == 2 and ctx.attempt < 3:
            raise ConnectionError("try again")
        return int(ctx.scatter_key)

    assert any_node.run(pipeline, "flaky") == [1, 2, 3]
    assert attempts == {1: 1, 2: 3, 3: 1}


def test_batches_run_once_per_batch_with_ctx_batch(any_node: fs.Node) -> None:
    seen: list[tuple[int, tuple[Any, ...], int | None]] = []
    lock = threading.Lock()
    pipeline = fs.Pipeline("batches")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(10), batch=fs.Batch(max_items=4)))
    def summed(ctx: fs.Context) -> int:
        assert ctx.batch is not None
        assert ctx.scatter_key is None
        with lock:
            seen.append((ctx.batch.index, ctx.batch.items, ctx.batch.count))
        return sum(ctx.batch.items)

    assert any_node.run(pipeline, "summed") == [0 + 1 + 2 + 3, 4 + 5 + 6 + 7, 8 + 9]
    assert sorted(seen) == [(0, (0, 1, 2, 3), 3), (1, (4, 5, 6, 7), 3), (2, (8, 9), 3)]


def test_a_reader_with_select_gives_the_keys(any_node: fs.Node, tmp_path: Any) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("id,region\n1,eu\n2,us\n3,eu\n")
    pipeline = fs.Pipeline("reader")

    @pipeline.asset
    def prefix(ctx: fs.Context) -> str:
        return "order-"

    @pipeline.asset(
        scatter=fs.Scatter(reader=fs.readers.CSV(path), select=lambda row, prefix: prefix + row["id"])
    )
    def labels(ctx: fs.Context, prefix: str) -> str:
        return f"{ctx.scatter_key}!"

    assert any_node.run(pipeline, "labels") == ["order-1!", "order-2!", "order-3!"]


class TestTolerate:
    def pipeline(self, failing: int, tolerate: float) -> fs.Pipeline:
        pipeline = fs.Pipeline("tolerate")
        gathered: list[Any] = []

        def gather(ctx: fs.Context, results: Any) -> dict[str, Any]:
            gathered.append(True)
            return {"done": [k for k, _ in results], "failed": results.failed}

        @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(20), tolerate=tolerate, gather=gather))
        def risky(ctx: fs.Context) -> int:
            if ctx.scatter_key < failing:
                raise ValueError(f"bad key {ctx.scatter_key}")
            return int(ctx.scatter_key)

        self.gathered = gathered
        return pipeline

    def test_failures_exactly_at_the_threshold_are_tolerated(self, any_node: fs.Node) -> None:
        value = any_node.run(self.pipeline(failing=1, tolerate=0.05), "risky")
        assert value["done"] == list(range(1, 20))
        assert value["failed"] == [(0, "ValueError: bad key 0")]

    def test_one_failure_above_the_threshold_fails_the_asset_without_gathering(
        self, any_node: fs.Node
    ) -> None:
        with pytest.raises(fs.MaterializationError) as caught:
            any_node.run(self.pipeline(failing=2, tolerate=0.05), "risky")
        error = caught.value.__cause__
        assert isinstance(error, fs.ScatterError)
        assert (error.total, error.failed, error.tolerate) == (20, 2, 0.05)
        assert [key for key, _ in error.errors] == [0, 1]
        assert "2 of 20" in str(error)
        assert self.gathered == []
        assert caught.value.attempts == 1  # decided: not retried as a whole

    def test_by_default_no_failure_is_tolerated(self, any_node: fs.Node) -> None:
        with pytest.raises(fs.MaterializationError) as caught:
            any_node.run(self.pipeline(failing=1, tolerate=0.0), "risky")
        assert isinstance(caught.value.__cause__, fs.ScatterError)


class TestKeyLimit:
    def test_a_key_one_byte_over_the_limit_fails_and_leaves_nothing(
        self, database: str | None, count_rows: Any
    ) -> None:
        big = {"region": "x" * 100}
        limit = len(fs.codec.encode(big)) - 1
        ran: list[Any] = []
        pipeline = fs.Pipeline("limit")
        # The first page of keys (1,000) is written before the big key is read: it goes.

        @pipeline.asset(
            scatter=fs.Scatter(keys=lambda ctx: iter([*range(1500), big, "c"]), max_key_bytes=limit)
        )
        def keyed(ctx: fs.Context) -> Any:
            ran.append(ctx.scatter_key)
            return 1

        with fs.start(database_url=database) as node:
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(pipeline, "keyed")
            error = caught.value.__cause__
            assert isinstance(error, fs.ScatterKeyError)
            assert (error.asset, error.position, error.size, error.limit) == ("keyed", 1500, limit + 1, limit)
            assert ran == []
            assert node.status(pipeline, "keyed").state == "failed"
            assert error.run_id is not None
            assert node.scatter_progress(error.run_id, "keyed") is None
        if database is not None:
            assert count_rows(database, "flowstone_scatter_units") == 0
            assert count_rows(database, "flowstone_scatters") == 0

    def test_the_node_default_is_max_scatter_key_bytes(self) -> None:
        pipeline = fs.Pipeline("node-limit")

        @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: ["a" * 50]))
        def keyed(ctx: fs.Context) -> int:
            return 1

        with fs.start(max_scatter_key_bytes=20) as node:
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(pipeline, "keyed")
            assert isinstance(caught.value.__cause__, fs.ScatterKeyError)
            assert caught.value.__cause__.limit == 20


def test_max_concurrent_is_never_exceeded_and_never_deadlocks(any_node: fs.Node) -> None:
    """The original's deadlock: unfinished items >= the maximum snoozed forever."""
    running = 0
    peak = 0
    lock = threading.Lock()
    pipeline = fs.Pipeline("bounded")

    @pipeline.asset(
        scatter=fs.Scatter(keys=lambda ctx: range(300), max_concurrent=3, gather=lambda c, r: len(r))
    )
    def bounded(ctx: fs.Context) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        with lock:
            running -= 1
        return 1

    assert any_node.run(pipeline, "bounded") == 300
    assert 1 <= peak <= 3


def test_progress_and_events_report_the_scatter(any_node: fs.Node) -> None:
    events: list[Any] = []
    gate = Gate()
    pipeline = fs.Pipeline("visible")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(6), max_concurrent=2, tolerate=0.5))
    def slow(ctx: fs.Context) -> int:
        if ctx.scatter_key >= 2:
            gate.passes()
        if ctx.scatter_key == 5:
            raise ValueError("five")
        return int(ctx.scatter_key)

    result: list[Any] = []
    with any_node.events.subscribe(events.append):
        worker = threading.Thread(target=lambda: result.append(any_node.run(pipeline, "slow")))
        worker.start()
        gate.wait_entered(2)
        [started] = [e for e in events if isinstance(e, fs.events.ScatterStarted)]
        progress = any_node.scatter_progress(started.run_id, "slow")
        assert progress is not None
        assert (progress.total, progress.done, progress.failed, progress.running) == (6, 2, 0, 2)
        assert any_node.status(pipeline, "slow").state == "waiting"  # while its keys run
        gate.open()
        worker.join(10)
    assert result == [[0, 1, 2, 3, 4]]
    done = [e.position for e in events if isinstance(e, fs.events.ScatterKeyDone)]
    failed = [e for e in events if isinstance(e, fs.events.ScatterKeyFailed)]
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert [(e.key, e.error) for e in failed] == [(5, "ValueError: five")]
    [gathered] = [e for e in events if isinstance(e, fs.events.ScatterGathered)]
    assert (gathered.done, gathered.failed) == (5, 1)
    assert any_node.status(pipeline, "slow").state == "completed"
    final = any_node.scatter_progress(started.run_id, "slow")
    assert final is not None
    assert (final.done, final.failed, final.running, final.state) == (5, 1, 0, "gathered")


def test_cancel_stops_dispatching_and_ends_the_asset_cancelled(node: fs.Node) -> None:
    gate = Gate()
    events: list[Any] = []
    ran: list[int] = []
    pipeline = fs.Pipeline("cancel")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(100), max_concurrent=2))
    def long(ctx: fs.Context) -> int:
        ran.append(ctx.scatter_key)
        gate.passes()
        return 1

    errors: list[BaseException] = []

    def run() -> None:
        try:
            node.run(pipeline, "long")
        except fs.MaterializationError as exc:
            errors.append(exc)

    with node.events.subscribe(events.append):
        worker = threading.Thread(target=run)
        worker.start()
        gate.wait_entered(2)
        [started] = [e for e in events if isinstance(e, fs.events.ScatterStarted)]
        assert node.cancel(started.run_id)
        gate.open()
        worker.join(10)
    [error] = errors
    assert isinstance(error.__cause__, fs.ScatterCancelledError)
    assert len(ran) == 2
    progress = node.scatter_progress(started.run_id, "long")
    assert progress is not None
    assert (progress.state, progress.done) == ("cancelled", 2)
    assert node.status(pipeline, "long").state == "cancelled"
    assert not node.cancel("no-such-run")


def test_the_gathered_value_records_its_scatter(any_node: fs.Node) -> None:
    pipeline = fs.Pipeline("provenance")

    @pipeline.asset
    def regions(ctx: fs.Context) -> list[str]:
        return ["eu", "us"]

    @pipeline.asset(scatter=fs.Scatter(keys=region_keys))
    def sales(ctx: fs.Context, regions: list[str]) -> int:
        return 1

    assert any_node.run(pipeline, "sales") == [1, 1]
    run_id = any_node.status(pipeline, "sales").run_id
    [entry] = [e for e in any_node.audit() if e.event_type == "scatter.gathered"]
    assert entry.resource == "provenance/sales/null"  # the unpartitioned key
    assert entry.details["scatter_run_id"] == run_id
    assert (entry.details["total"], entry.details["done"], entry.details["failed"]) == (2, 2, 0)
    assert [ref.asset for ref in any_node.lineage.upstream(pipeline, "sales")] == ["regions"]


def test_a_key_that_asks_for_a_gate_fails_saying_why(any_node: fs.Node) -> None:
    pipeline = fs.Pipeline("gated_keys")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(2)))
    def keyed(ctx: fs.Context) -> Any:
        return ctx.gate("k", timeout=5)

    with pytest.raises(fs.MaterializationError) as failed:
        any_node.run(pipeline, "keyed")
    assert "cannot wait on a gate" in str(failed.value.__cause__)
