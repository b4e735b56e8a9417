"""One contract, three stores: memory, SQLite and PostgreSQL behave the same through a node."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

import flowstone as fs
from flowstone._store import Completion, Failure, RunStart
from flowstone.io import AssetKey
from supervisors.testing import wait_for


def chain(name: str = "contract") -> tuple[fs.Pipeline, list[str]]:
    """raw → cleaned → report, recording each call in the returned list."""
    calls: list[str] = []
    pipeline = fs.Pipeline(name)

    @pipeline.asset
    def raw(ctx: fs.Context) -> list[int]:
        calls.append("raw")
        return [1, 2, 3]

    @pipeline.asset
    def cleaned(ctx: fs.Context, raw: list[int]) -> list[int]:
        calls.append("cleaned")
        return [n * 10 for n in raw]

    @pipeline.asset
    def report(ctx: fs.Context, cleaned: list[int]) -> dict[str, object]:
        calls.append("report")
        return {"total": sum(cleaned), "partition": ctx.partition}

    return pipeline, calls


@pytest.fixture
def node(store_url: str | None) -> Iterator[fs.Node]:
    with fs.start(database_url=store_url, max_concurrency=2) as started:
        yield started


class TestRunAndRead:
    def test_run_returns_the_value_and_get_reads_it_back(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        assert node.run(pipeline, "report", partition="eu") == {"total": 60, "partition": "eu"}
        assert node.get(pipeline, "report", "eu") == {"total": 60, "partition": "eu"}
        assert node.get(pipeline, "raw", "eu") == [1, 2, 3]

    def test_values_keep_their_types(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("types")
        value = {
            "day": date(2025, 1, 1),
            "at": datetime(2025, 1, 1, 12, 30, tzinfo=UTC),
            "amount": Decimal("12.50"),
            "pair": (1, "a"),
            "tags": {"x", "y"},
            "blob": b"\x00\x01",
        }

        @pipeline.asset
        def typed(ctx: fs.Context) -> dict[str, object]:
            return value

        node.run(pipeline, "typed")
        loaded = node.get(pipeline, "typed")
        assert loaded == value
        assert {k: type(v) for k, v in loaded.items()} == {k: type(v) for k, v in value.items()}

    def test_an_asset_never_run_is_not_found(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        assert not node.exists(pipeline, "report", "eu")
        assert node.status(pipeline, "report", "eu").state == "not_found"
        with pytest.raises(fs.NotMaterializedError, match="run it first"):
            node.get(pipeline, "report", "eu")

    def test_partitions_are_separate(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        node.run(pipeline, "report", partition="eu")
        assert node.exists(pipeline, "report", "eu")
        assert not node.exists(pipeline, "report", "us")
        assert node.status(pipeline, "report", "us").state == "not_found"

    def test_status_of_a_completed_asset_names_its_run(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        node.run(pipeline, "report", partition="eu")
        status = node.status(pipeline, "report", "eu")
        assert status.state == "completed"
        assert status.partition == "eu"
        assert status.attempts == 1
        assert status.error is None
        assert status.run_id
        assert status.started_at is not None
        assert status.finished_at is not None
        assert status.started_at.tzinfo is not None
        assert status.started_at <= status.finished_at
        assert node.status(pipeline, "raw", "eu").run_id == status.run_id

    def test_a_failed_asset_is_recorded_failed_with_its_error(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("failing")

        @pipeline.asset
        def broken(ctx: fs.Context) -> int:
            raise ValueError("bad input row 7")

        with pytest.raises(fs.MaterializationError) as caught:
            node.run(pipeline, "broken", partition="eu")
        assert isinstance(caught.value.__cause__, ValueError)
        status = node.status(pipeline, "broken", "eu")
        assert status.state == "failed"
        assert status.error is not None
        assert "bad input row 7" in status.error
        assert not node.exists(pipeline, "broken", "eu")


class TestCaching:
    def test_a_second_run_reuses_stored_values(self, node: fs.Node) -> None:
        pipeline, calls = chain()
        first = node.run(pipeline, "report", partition="eu")
        run_id = node.status(pipeline, "report", "eu").run_id
        assert node.run(pipeline, "report", partition="eu") == first
        assert calls == ["raw", "cleaned", "report"]
        assert node.status(pipeline, "report", "eu").run_id == run_id

    def test_force_runs_the_target_again_in_a_new_run(self, node: fs.Node) -> None:
        pipeline, calls = chain()
        node.run(pipeline, "report", partition="eu")
        first_run = node.status(pipeline, "report", "eu").run_id
        node.run(pipeline, "report", partition="eu", force=True)
        assert calls == ["raw", "cleaned", "report", "report"]
        second_run = node.status(pipeline, "report", "eu").run_id
        assert second_run != first_run
        assert node.status(pipeline, "raw", "eu").run_id == first_run


class TestInvalidate:
    def test_invalidate_removes_the_value_and_the_records(self, node: fs.Node) -> None:
        pipeline, calls = chain()
        node.run(pipeline, "report", partition="eu")
        assert node.invalidate(pipeline, "report", "eu") == 1
        assert not node.exists(pipeline, "report", "eu")
        assert node.status(pipeline, "report", "eu").state == "not_found"
        assert node.exists(pipeline, "cleaned", "eu")
        node.run(pipeline, "report", partition="eu")
        assert calls == ["raw", "cleaned", "report", "report"]

    def test_invalidate_with_cascade_removes_everything_downstream(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        node.run(pipeline, "report", partition="eu")
        node.run(pipeline, "report", partition="us")
        assert node.invalidate(pipeline, "raw", "eu", cascade=True) == 3
        for asset in ("raw", "cleaned", "report"):
            assert not node.exists(pipeline, asset, "eu")
            assert node.status(pipeline, asset, "eu").state == "not_found"
            assert node.exists(pipeline, asset, "us")

    def test_invalidating_what_was_never_run_removes_nothing(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        assert node.invalidate(pipeline, "report", "eu") == 0


class TestLineage:
    def test_upstream_and_downstream_follow_the_recorded_edges(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        node.run(pipeline, "report", partition="eu")

        def edges() -> tuple[list[tuple[str, object, int]], list[tuple[str, object, int]]]:
            up = node.lineage.upstream(pipeline, "report", "eu")
            down = node.lineage.downstream(pipeline, "raw", "eu")
            return [(r.asset, r.partition, r.depth) for r in up], [
                (r.asset, r.partition, r.depth) for r in down
            ]

        upstream, downstream = edges()  # written with each completion: there when run returns
        assert upstream == [("cleaned", "eu", 1), ("raw", "eu", 2)]
        assert downstream == [("cleaned", "eu", 1), ("report", "eu", 2)]
        assert [r.asset for r in node.lineage.upstream(pipeline, "report", "eu", depth=1)] == ["cleaned"]
        assert node.lineage.upstream(pipeline, "report", "us") == []

    def test_the_store_writes_lineage_with_the_completion_not_the_lineage_actor(self, node: fs.Node) -> None:
        pipeline, _ = chain("lineage-with-completion")
        root = node._root  # type: ignore[attr-defined]
        root.terminate_child("lineage")  # nothing else could record the edges now
        try:
            node.run(pipeline, "report", partition="eu")
        finally:
            root.restart_child("lineage")  # lineage queries go through it
        upstream = [(r.asset, r.depth) for r in node.lineage.upstream(pipeline, "report", "eu")]
        assert upstream == [("cleaned", 1), ("raw", 2)]
        assert node.lineage.failures() == []

    def test_invalidate_forgets_the_lineage_of_the_value(self, node: fs.Node) -> None:
        pipeline, _ = chain()
        node.run(pipeline, "report", partition="eu")
        wait_for(
            lambda: len(node.lineage.upstream(pipeline, "report", "eu")) == 2,
            timeout=5.0,
            message="lineage of report",
        )
        node.invalidate(pipeline, "report", "eu")
        assert node.lineage.upstream(pipeline, "report", "eu") == []
        assert [r.asset for r in node.lineage.downstream(pipeline, "cleaned", "eu")] == []


class TestConditionalCompletion:
    """The store's counted state changes move only a record that is still running."""

    @staticmethod
    def _start(node: fs.Node, asset: str = "value") -> tuple[str, str]:
        run_id = uuid.uuid4().hex
        key = fs.partitions.serialize("eu")
        node._store.start_run(
            RunStart(
                run_id=run_id,
                pipeline="direct",
                asset=asset,
                partition_key=key,
                plan=[asset],
                options={},
                at=datetime.now(UTC),
                actor="test",
            )
        )
        node._store.mark_running("direct", asset, key, run_id, 1, datetime.now(UTC))
        return run_id, key

    @staticmethod
    def _done(run_id: str, key: str, asset: str = "value") -> Completion:
        return Completion(
            pipeline="direct",
            asset=asset,
            partition_key=key,
            run_id=run_id,
            attempts=1,
            at=datetime.now(UTC),
            duration_ms=1.0,
            finishes_run=True,
            actor="test",
        )

    @staticmethod
    def _failure(run_id: str, key: str, asset: str = "value") -> Failure:
        return Failure(
            pipeline="direct",
            asset=asset,
            partition_key=key,
            run_id=run_id,
            attempts=1,
            at=datetime.now(UTC),
            error="RuntimeError: boom",
            actor="test",
        )

    def test_completing_twice_counts_once(self, node: fs.Node) -> None:
        run_id, key = self._start(node)
        assert node._store.complete(self._done(run_id, key), node._io, {"n": 1}) is True
        assert node._store.complete(self._done(run_id, key), node._io, {"n": 2}) is False
        record = node._store.latest("direct", "value", key)
        assert record is not None
        assert (record.status, record.run_id) == ("completed", run_id)
        assert node._io.load(AssetKey("direct", "value", key)) == {"n": 1}
        finished = [e for e in node.audit(100) if e.event_type == "run.finished"]
        assert [e.details["run_id"] for e in finished] == [run_id]

    def test_failing_a_completed_record_returns_false_and_keeps_it_completed(self, node: fs.Node) -> None:
        run_id, key = self._start(node)
        assert node._store.complete(self._done(run_id, key), node._io, 1) is True
        assert node._store.fail(self._failure(run_id, key)) is False
        record = node._store.latest("direct", "value", key)
        assert record is not None
        assert record.status == "completed"
        assert record.error is None
        assert not [e for e in node.audit(100) if e.event_type == "run.failed"]

    def test_failing_twice_counts_once(self, node: fs.Node) -> None:
        run_id, key = self._start(node)
        assert node._store.fail(self._failure(run_id, key)) is True
        assert node._store.fail(self._failure(run_id, key)) is False
        failed = [e for e in node.audit(100) if e.event_type == "run.failed"]
        assert [e.details["run_id"] for e in failed] == [run_id]

    def test_a_late_completion_after_a_failure_writes_nothing(self, node: fs.Node) -> None:
        run_id, key = self._start(node)
        assert node._store.fail(self._failure(run_id, key)) is True
        assert node._store.complete(self._done(run_id, key), node._io, "late") is False
        record = node._store.latest("direct", "value", key)
        assert record is not None
        assert record.status == "failed"
        assert not node._io.exists(AssetKey("direct", "value", key))

    def test_a_run_overtaken_by_a_newer_run_of_its_asset_still_completes(self, node: fs.Node) -> None:
        first, key = self._start(node)
        second, _ = self._start(node)
        assert node._store.complete(self._done(first, key), node._io, "first") is True
        record = node._store.latest("direct", "value", key)
        assert record is not None
        assert (record.run_id, record.status) == (second, "running")  # the newest run is the latest
        assert node._store.complete(self._done(first, key), node._io, "again") is False
        assert node._store.complete(self._done(second, key), node._io, "second") is True
        record = node._store.latest("direct", "value", key)
        assert record is not None
        assert (record.run_id, record.status) == (second, "completed")
        assert node._io.load(AssetKey("direct", "value", key)) == "second"

    def test_a_run_overtaken_by_a_newer_run_of_its_asset_fails_once(self, node: fs.Node) -> None:
        first, key = self._start(node)
        second, _ = self._start(node)
        assert node._store.fail(self._failure(first, key)) is True
        assert node._store.fail(self._failure(first, key)) is False
        assert node._store.complete(self._done(first, key), node._io, "late") is False
        record = node._store.latest("direct", "value", key)
        assert record is not None
        assert (record.run_id, record.status) == (second, "running")
        assert node._store.complete(self._done(second, key), node._io, "second") is True

    def test_deleting_an_asset_refuses_the_completions_of_every_run_in_flight(self, node: fs.Node) -> None:
        first, key = self._start(node)
        second, _ = self._start(node)
        assert node._store.delete("direct", "value", key) == 2
        assert node._store.complete(self._done(first, key), node._io, "first") is False
        assert node._store.complete(self._done(second, key), node._io, "second") is False
        assert node._store.latest("direct", "value", key) is None


class TestRunEndings:
    def test_a_run_that_times_out_while_waiting_to_retry_is_recorded_failed(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("waiting")

        @pipeline.asset(retry=fs.Retry(max_attempts=3, base_delay=30.0))
        def flaky(ctx: fs.Context) -> int:
            raise RuntimeError("not yet")

        with pytest.raises((fs.MaterializationError, TimeoutError)):
            node.run(pipeline, "flaky", partition="eu", timeout=0.5)
        status = node.status(pipeline, "flaky", "eu")
        assert status.state == "failed"
        assert status.error is not None
        assert "timed out" in status.error
        assert [e.event_type for e in node.audit(10)] == ["run.failed", "run.started"]

    def test_a_late_failure_of_a_completed_dependency_does_not_fail_its_run(self, node: fs.Node) -> None:
        run_id = uuid.uuid4().hex
        key = fs.partitions.serialize("eu")
        at = datetime.now(UTC)
        store = node._store
        store.start_run(
            RunStart(
                run_id=run_id,
                pipeline="direct",
                asset="target",
                partition_key=key,
                plan=["dep", "target"],
                options={},
                at=at,
                actor="test",
            )
        )
        store.mark_running("direct", "dep", key, run_id, 1, at)
        dep_done = Completion(
            pipeline="direct",
            asset="dep",
            partition_key=key,
            run_id=run_id,
            attempts=1,
            at=at,
            duration_ms=1.0,
            finishes_run=False,
            actor="test",
        )
        assert store.complete(dep_done, node._io, 1) is True
        # A repeated (late) failure of the completed dependency must change nothing.
        late = Failure(
            pipeline="direct",
            asset="dep",
            partition_key=key,
            run_id=run_id,
            attempts=1,
            at=at,
            error="RuntimeError: late",
            actor="test",
        )
        assert store.fail(late) is False
        store.mark_running("direct", "target", key, run_id, 1, at)
        target_done = Completion(
            pipeline="direct",
            asset="target",
            partition_key=key,
            run_id=run_id,
            attempts=1,
            at=at,
            duration_ms=1.0,
            finishes_run=True,
            actor="test",
        )
        assert store.complete(target_done, node._io, 2) is True
        assert [e.event_type for e in node.audit(10)] == ["run.finished", "run.started"]
