"""The lineage actor: recursive walks, and failures that are loud, never swallowed [9]."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date

import pytest
from structlog.testing import capture_logs

import flowstone as fs
from flowstone import LineageRef
from supervisors.testing import wait_for


class FailingLineageStore:
    """A lineage store whose writes always fail, as a database that went away would."""

    def __init__(self) -> None:
        self.attempts = 0

    def record_lineage(
        self,
        pipeline: str,
        run_id: str,
        asset: str,
        partition_key: str,
        upstream: Sequence[tuple[str, str]],
    ) -> None:
        self.attempts += 1
        raise ConnectionError("lineage database unreachable")

    def upstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        return []

    def downstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        return []


def diamond() -> fs.Pipeline:
    pipeline = fs.Pipeline("diamond")

    @pipeline.asset
    def raw(ctx: fs.Context) -> int:
        return 1

    @pipeline.asset
    def left(ctx: fs.Context, raw: int) -> int:
        return raw

    @pipeline.asset
    def right(ctx: fs.Context, raw: int) -> int:
        return raw

    @pipeline.asset
    def joined(ctx: fs.Context, left: int, right: int) -> int:
        return left + right

    return pipeline


class TestWalks:
    def test_upstream_walks_every_ancestor_with_its_depth(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "total")
        assert node.lineage.upstream(sales, "total") == [
            LineageRef("doubled", None, 1),
            LineageRef("numbers", None, 2),
        ]

    def test_downstream_walks_every_descendant_with_its_depth(
        self, node: fs.Node, sales: fs.Pipeline
    ) -> None:
        node.run(sales, "total")
        assert node.lineage.downstream(sales, "numbers") == [
            LineageRef("doubled", None, 1),
            LineageRef("total", None, 2),
        ]

    def test_depth_limits_the_walk(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "total")
        assert node.lineage.upstream(sales, "total", depth=1) == [LineageRef("doubled", None, 1)]
        assert node.lineage.downstream(sales, "numbers", depth=1) == [LineageRef("doubled", None, 1)]

    def test_a_depth_below_one_is_rejected(self, node: fs.Node, sales: fs.Pipeline) -> None:
        with pytest.raises(ValueError, match="depth"):
            node.lineage.upstream(sales, "total", depth=0)

    def test_a_diamond_lists_the_shared_ancestor_once_at_its_nearest_depth(self, node: fs.Node) -> None:
        pipeline = diamond()
        node.run(pipeline, "joined")
        refs = node.lineage.upstream(pipeline, "joined")
        assert sorted((r.asset, r.depth) for r in refs) == [("left", 1), ("raw", 2), ("right", 1)]
        assert sorted((r.asset, r.depth) for r in node.lineage.downstream(pipeline, "raw")) == [
            ("joined", 2),
            ("left", 1),
            ("right", 1),
        ]

    def test_an_asset_never_run_has_no_lineage(self, node: fs.Node, sales: fs.Pipeline) -> None:
        assert node.lineage.upstream(sales, "total") == []
        assert node.lineage.downstream(sales, "numbers") == []

    def test_partitioned_lineage_stays_within_its_partition(self, node: fs.Node, sales: fs.Pipeline) -> None:
        day = date(2024, 1, 1)
        node.run(sales, "total", partition=day)
        node.run(sales, "doubled", partition=date(2024, 1, 2))
        assert node.lineage.upstream(sales, "total", day) == [
            LineageRef("doubled", day, 1),
            LineageRef("numbers", day, 2),
        ]
        assert node.lineage.downstream(sales, "numbers", day) == [
            LineageRef("doubled", day, 1),
            LineageRef("total", day, 2),
        ]
        assert node.lineage.upstream(sales, "total") == []

    def test_lineage_refs_keep_the_partition_type(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "doubled", partition=("eu", 7))
        (ref,) = node.lineage.upstream(sales, "doubled", ("eu", 7))
        assert ref == LineageRef("numbers", ("eu", 7), 1)

    def test_no_failures_are_reported_when_lineage_is_recorded(
        self, node: fs.Node, sales: fs.Pipeline
    ) -> None:
        node.run(sales, "total")
        assert node.lineage.failures() == []
        assert node.health().checks["lineage_failures"].ok


class TestFailureModeLog:
    """[9] a lineage failure is logged, counted and reported; the asset still succeeds."""

    def test_the_materialization_succeeds_and_the_failure_is_recorded(self, sales: fs.Pipeline) -> None:
        store = FailingLineageStore()
        with fs.start(lineage_store=store) as node, capture_logs() as logs:
            assert node.run(sales, "doubled", partition="p1") == [2, 4, 6, 8, 10]
            failures = node.lineage.failures()
            status = node.status(sales, "doubled", "p1")
        assert status.state == "completed"
        assert store.attempts >= 1
        (failure,) = failures  # numbers consumed nothing: only doubled has lineage
        assert isinstance(failure, fs.LineageFailure)
        assert (failure.pipeline, failure.asset, failure.partition) == ("sales", "doubled", "p1")
        assert failure.run_id == status.run_id
        assert "lineage database unreachable" in failure.cause

        (event,) = [e for e in logs if e["event"] == "lineage.record_failed"]
        assert event["log_level"] == "error"
        assert (event["asset"], event["run_id"]) == ("doubled", status.run_id)
        assert "p1" in str(event["partition"])
        assert "lineage database unreachable" in event["cause"]

    def test_health_is_degraded_with_the_lineage_failures_check_failing(self, sales: fs.Pipeline) -> None:
        with fs.start(lineage_store=FailingLineageStore()) as node:
            node.run(sales, "doubled")
            health = node.health()
        assert health.status == "degraded"
        assert not health.checks["lineage_failures"].ok
        assert "1" in health.checks["lineage_failures"].detail
        assert health.checks["store"].ok
        assert health.checks["lineage"].ok

    def test_log_is_the_default_failure_mode(self, sales: fs.Pipeline) -> None:
        with fs.start(lineage_store=FailingLineageStore()) as node:
            assert node.config.lineage_failure == "log"
            assert node.run(sales, "doubled") == [2, 4, 6, 8, 10]


class TestFailureModeFail:
    def test_the_materialization_fails_with_a_lineage_error(self, sales: fs.Pipeline) -> None:
        with fs.start(lineage_store=FailingLineageStore(), lineage_failure="fail") as node:
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(sales, "doubled", partition="p1")
            error = caught.value
            assert isinstance(error.__cause__, fs.LineageError)
            assert (error.asset, error.partition) == ("doubled", "p1")
            assert node.status(sales, "doubled", "p1").state == "failed"
            assert not node.exists(sales, "doubled", "p1")
            assert node.lineage.failures()[0].run_id == error.run_id

    def test_a_lineage_failure_is_not_retried(self, sales: fs.Pipeline) -> None:
        store = FailingLineageStore()
        with (
            fs.start(
                lineage_store=store, lineage_failure="fail", retry=fs.Retry(max_attempts=3, base_delay=0.0)
            ) as node,
            pytest.raises(fs.MaterializationError),
        ):
            node.run(sales, "doubled")
        assert store.attempts == 1

    def test_an_unknown_failure_mode_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="lineage_failure"):
            fs.start(lineage_failure="ignore")


class SlowLineageStore:
    """Records lineage only once released, so that records queue up in the lineage actor."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.records: list[tuple[str, str]] = []

    def record_lineage(
        self, pipeline: str, run_id: str, asset: str, partition_key: str, upstream: Sequence[tuple[str, str]]
    ) -> None:
        self.release.wait(timeout=10)
        self.records.append((asset, partition_key))

    def upstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        return []

    def downstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        return []


class TestStopping:
    @pytest.mark.timeout(30)
    def test_lineage_told_before_a_stop_is_still_recorded(self) -> None:
        """[9] a node stopped right after a run loses no lineage record."""
        store = SlowLineageStore()
        node = fs.start(lineage_store=store)
        node.run(diamond(), "joined")
        lineage = node._directory.lookup("lineage")
        stopping = threading.Thread(target=node.stop)
        stopping.start()
        # Release the store only once the actor has been told to shut down, with records queued.
        wait_for(lambda: lineage._lifecycle.shutdown_requested, message="lineage shutdown requested")
        store.release.set()
        stopping.join(timeout=20)
        assert not stopping.is_alive()
        assert sorted(asset for asset, _ in store.records) == ["joined", "left", "right"]
