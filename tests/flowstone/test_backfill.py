"""Backfill: counts, bounded parallelism, per-partition timeouts, halting, streaming."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

import flowstone as fs
from supervisors.testing import wait_for


def daily_pipeline(calls: list[object] | None = None) -> fs.Pipeline:
    pipeline = fs.Pipeline("backfill")

    @pipeline.asset
    def daily(ctx: fs.Context) -> str:
        if calls is not None:
            calls.append(ctx.partition)
        return f"data_for_{ctx.partition}"

    return pipeline


class TestCounts:
    def test_every_partition_succeeds_and_is_stored(self, node: fs.Node) -> None:
        pipeline = daily_pipeline()
        report = node.backfill(pipeline, "daily", ["d1", "d2", "d3"])
        assert isinstance(report, fs.BackfillReport)
        assert (report.succeeded, report.failed, report.skipped, report.timed_out) == (3, 0, 0, 0)
        assert report.failures == []
        assert [node.get(pipeline, "daily", p) for p in ("d1", "d2", "d3")] == [
            "data_for_d1",
            "data_for_d2",
            "data_for_d3",
        ]

    def test_partitions_already_materialized_are_counted_as_skipped(self, node: fs.Node) -> None:
        calls: list[object] = []
        pipeline = daily_pipeline(calls)
        node.run(pipeline, "daily", partition="a")
        node.run(pipeline, "daily", partition="b")
        calls.clear()

        report = node.backfill(pipeline, "daily", ["a", "b", "c", "d"])
        assert (report.succeeded, report.skipped, report.failed) == (2, 2, 0)
        assert sorted(calls) == ["c", "d"]  # type: ignore[type-var]

    def test_force_runs_materialized_partitions_again(self, node: fs.Node) -> None:
        calls: list[object] = []
        pipeline = daily_pipeline(calls)
        node.run(pipeline, "daily", partition="a")

        report = node.backfill(pipeline, "daily", ["a", "b"], force=True)
        assert (report.succeeded, report.skipped) == (2, 0)
        assert sorted(calls) == ["a", "a", "b"]  # type: ignore[type-var]

    def test_failed_partitions_are_counted_and_kept_with_their_error(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("some-fail")

        @pipeline.asset
        def odd_only(ctx: fs.Context) -> int:
            if ctx.partition % 2 == 0:
                raise ValueError(f"even partition {ctx.partition}")
            return ctx.partition

        report = node.backfill(pipeline, "odd_only", range(1, 7), parallel=2)
        assert (report.succeeded, report.failed, report.timed_out) == (3, 3, 0)
        assert sorted(r.partition for r in report.failures) == [2, 4, 6]
        for result in report.failures:
            assert result.status == "failed"
            assert isinstance(result.error, fs.MaterializationError)
            assert isinstance(result.error.__cause__, ValueError)
        assert node.status(pipeline, "odd_only", 2).state == "failed"

    def test_upstream_assets_run_per_partition(self, node: fs.Node, sales: fs.Pipeline) -> None:
        report = node.backfill(sales, "total", ["x", "y"])
        assert report.succeeded == 2
        assert node.get(sales, "doubled", "y") == [2, 4, 6, 8, 10]


class TestParallel:
    """[2] parallelism is bounded by the node, capped with a warning, never an error."""

    @pytest.mark.timeout(20)
    def test_parallel_two_runs_two_partitions_at_once(self, node: fs.Node) -> None:
        barrier = threading.Barrier(2, timeout=5)
        pipeline = fs.Pipeline("pairs")

        @pipeline.asset
        def paired(ctx: fs.Context) -> str:
            barrier.wait()  # breaks (and fails the partition) unless two run at once
            return f"p{ctx.partition}"

        report = node.backfill(pipeline, "paired", [1, 2, 3, 4], parallel=2)
        assert (report.succeeded, report.failed) == (4, 0)
        assert [node.get(pipeline, "paired", p) for p in (1, 2, 3, 4)] == ["p1", "p2", "p3", "p4"]

    @pytest.mark.timeout(20)
    def test_parallel_above_max_parallel_is_capped_with_a_warning(self) -> None:
        pipeline = fs.Pipeline("capped")
        in_flight = 0
        most = 0
        lock = threading.Lock()

        @pipeline.asset
        def counted(ctx: fs.Context) -> int:
            nonlocal in_flight, most
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            with lock:
                in_flight -= 1
            return 1

        with fs.start(max_parallel=2, max_concurrency=4) as node, capture_logs() as logs:
            report = node.backfill(pipeline, "counted", range(20), parallel=50)
        assert report.succeeded == 20
        assert most <= 2
        capped = [e for e in logs if e["event"] == "backfill.parallel_capped"]
        assert len(capped) == 1
        assert capped[0]["log_level"] == "warning"
        assert (capped[0]["requested"], capped[0]["cap"]) == (50, 2)

    @pytest.mark.timeout(20)
    @pytest.mark.parametrize(("cap", "requested"), [(2, 6), (3, 3)])
    def test_a_backfill_runs_exactly_as_many_partitions_at_once_as_its_capped_parallel(
        self, cap: int, requested: int
    ) -> None:
        """The concurrency really reached, with runners to spare: each partition holds until
        released, so every partition the backfill may start is running at once."""
        pipeline = fs.Pipeline("held")
        running = threading.Condition()
        release = threading.Event()
        now = most = 0

        @pipeline.asset
        def held(ctx: fs.Context) -> int:
            nonlocal now, most
            with running:
                now += 1
                most = max(most, now)
                running.notify_all()
            try:
                if not release.wait(10):
                    raise TimeoutError("the test never released the partitions")
            finally:
                with running:
                    now -= 1
            return 1

        with fs.start(max_parallel=cap, max_concurrency=requested + 2) as node:
            reports: list[fs.BackfillReport] = []
            backfill = threading.Thread(
                target=lambda: reports.append(node.backfill(pipeline, "held", range(12), parallel=requested))
            )
            backfill.start()
            try:
                with running:
                    assert running.wait_for(lambda: now >= min(cap, requested), timeout=10)
                    # A backfill that ignored its cap would start the rest at once; give it the chance.
                    assert not running.wait_for(lambda: now > min(cap, requested), timeout=0.3)
            finally:
                release.set()
                backfill.join(10)
        [report] = reports
        assert report.succeeded == 12
        assert most == min(cap, requested)

    @pytest.mark.parametrize("parallel", [0, -1])
    def test_parallel_below_one_raises_value_error(self, node: fs.Node, parallel: int) -> None:
        with pytest.raises(ValueError, match="parallel"):
            node.backfill(daily_pipeline(), "daily", ["a"], parallel=parallel)


class TestTimeout:
    """[2] each partition has its own timeout that frees its slot and discards a late value."""

    @pytest.mark.timeout(30)
    def test_a_partition_past_its_timeout_is_timed_out_and_its_late_result_discarded(
        self, node: fs.Node
    ) -> None:
        release = threading.Event()
        pipeline = fs.Pipeline("timeouts")

        @pipeline.asset
        def sometimes_slow(ctx: fs.Context) -> str:
            if ctx.partition == "slow":
                release.wait(20)
            return f"value {ctx.partition}"

        try:
            report = node.backfill(
                pipeline, "sometimes_slow", ["fast1", "slow", "fast2"], parallel=2, timeout=0.3
            )
            assert (report.succeeded, report.failed, report.timed_out, report.skipped) == (2, 0, 1, 0)
            assert [(r.partition, r.status) for r in report.failures] == [("slow", "timed_out")]
        finally:
            release.set()
        # The abandoned runner retires once the asset returns: after that its value
        # would have been stored, if it were ever going to be.
        size = node.config.max_concurrency
        wait_for(
            lambda: len(next(c for c in node.tree().children if c.id == "runners").children) == size,
            message="the abandoned runner retired",
        )
        assert not node.exists(pipeline, "sometimes_slow", "slow")
        status = node.status(pipeline, "sometimes_slow", "slow")
        assert status.state == "failed"
        assert status.error is not None
        assert "Timeout" in status.error
        assert node.exists(pipeline, "sometimes_slow", "fast2")

    @pytest.mark.parametrize("timeout", [0, -1.0])
    def test_a_timeout_that_is_not_positive_is_rejected(self, node: fs.Node, timeout: float) -> None:
        with pytest.raises(ValueError, match="timeout"):
            node.backfill(daily_pipeline(), "daily", ["a"], timeout=timeout)


class TestHalt:
    def test_halt_stops_after_the_first_failure_and_skips_the_rest(self, node: fs.Node) -> None:
        calls: list[int] = []
        pipeline = fs.Pipeline("halting")

        @pipeline.asset
        def fragile(ctx: fs.Context) -> int:
            calls.append(ctx.partition)
            if ctx.partition == 2:
                raise RuntimeError("bad partition")
            return ctx.partition

        report = node.backfill(pipeline, "fragile", [1, 2, 3, 4, 5], on_error="halt")
        assert (report.succeeded, report.failed, report.skipped) == (1, 1, 3)
        assert calls == [1, 2]
        assert not node.exists(pipeline, "fragile", 3)

    def test_continue_runs_every_partition_despite_failures(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("continuing")

        @pipeline.asset
        def fragile(ctx: fs.Context) -> int:
            if ctx.partition == 2:
                raise RuntimeError("bad partition")
            return ctx.partition

        report = node.backfill(pipeline, "fragile", [1, 2, 3, 4, 5])
        assert (report.succeeded, report.failed, report.skipped) == (4, 1, 0)

    def test_on_error_must_be_continue_or_halt(self, node: fs.Node) -> None:
        with pytest.raises(ValueError, match="on_error"):
            node.backfill(daily_pipeline(), "daily", ["a"], on_error="ignore")  # type: ignore[arg-type]


class TestStreaming:
    """[2] results are streamed as partitions finish; partitions are pulled lazily."""

    def test_backfill_iter_yields_one_result_per_partition(self, node: fs.Node) -> None:
        pipeline = daily_pipeline()
        node.run(pipeline, "daily", partition="d0")
        results = list(node.backfill_iter(pipeline, "daily", ["d0", "d1", "d2", "d3"], parallel=2))
        assert all(isinstance(r, fs.PartitionResult) for r in results)
        assert sorted((r.partition, r.status) for r in results) == [
            ("d0", "skipped"),
            ("d1", "succeeded"),
            ("d2", "succeeded"),
            ("d3", "succeeded"),
        ]
        assert all(r.run_id is not None for r in results if r.status == "succeeded")

    def test_backfill_iter_pulls_partitions_lazily(self, node: fs.Node) -> None:
        pulled: list[int] = []

        def partitions() -> Iterator[int]:
            for i in range(1000):
                pulled.append(i)
                yield i

        results = node.backfill_iter(daily_pipeline(), "daily", partitions(), parallel=1)
        first = next(iter(results))
        assert first.status == "succeeded"
        assert len(pulled) < 10
        for _ in results:  # drain, so nothing is left in flight
            pass
        assert len(pulled) == 1000

    def test_progress_is_called_with_done_and_total(self, node: fs.Node) -> None:
        progress: list[tuple[int, int | None]] = []
        node.backfill(
            daily_pipeline(), "daily", ["a", "b", "c"], progress=lambda d, t: progress.append((d, t))
        )
        assert progress == [(1, 3), (2, 3), (3, 3)]

    def test_progress_total_is_none_for_a_generator(self, node: fs.Node) -> None:
        progress: list[tuple[int, int | None]] = []
        node.backfill(
            daily_pipeline(),
            "daily",
            (p for p in ("a", "b")),
            progress=lambda d, t: progress.append((d, t)),
        )
        assert progress == [(1, None), (2, None)]

    def test_progress_events_are_emitted(self, node: fs.Node) -> None:
        events: list[fs.events.Event] = []
        with node.events.subscribe(events.append):
            node.backfill(daily_pipeline(), "daily", ["a", "b"])
        progress = [e for e in events if isinstance(e, fs.events.BackfillProgress)]
        assert [(e.done, e.total, e.failed) for e in progress] == [(1, 2, 0), (2, 2, 0)]


def trivial_pipeline() -> fs.Pipeline:
    pipeline = fs.Pipeline("trivial")

    @pipeline.asset(io=fs.io.Memory(max_entries=100))
    def trivial(ctx: fs.Context) -> int:
        return 1

    return pipeline


def backfill_peak(node: fs.Node, pipeline: fs.Pipeline, count: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        report = node.backfill(pipeline, "trivial", (i for i in range(count)), parallel=4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.succeeded == count
    return peak


class TestMemory:
    """[2] partitions are consumed lazily and nothing per partition is kept."""

    @pytest.mark.timeout(240)  # about 25 s on a quiet 2-CPU VM; CI machines are shared
    def test_a_generator_of_100_000_partitions_backfills(self, node: fs.Node) -> None:
        report = node.backfill(trivial_pipeline(), "trivial", (i for i in range(100_000)), parallel=4)
        assert (report.succeeded, report.failed, report.timed_out) == (100_000, 0, 0)
        assert report.failures == []

    @pytest.mark.timeout(180)
    def test_peak_memory_does_not_grow_with_the_number_of_partitions(self) -> None:
        # The in-memory store keeps the latest `memory_records` records per pipeline; below
        # that bound it grows with the partitions like any store would, so measure above it.
        with fs.start(max_concurrency=4, max_parallel=4, memory_records=500) as node:
            small = backfill_peak(node, trivial_pipeline(), 1_000)
            large = backfill_peak(node, trivial_pipeline(), 8_000)
        assert large / small < 3, f"peak {small} B for 1,000 partitions, {large} B for 8,000"
