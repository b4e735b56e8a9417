"""Submitting durable jobs: handles, waiting, status, scheduling, priority, and references."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from job_pipelines import Probe, pipeline
from job_support import Database, StartNode

import flowstone as fs
from flowstone import partitions
from flowstone._jobs.api import BACKFILL_PRIORITY
from flowstone._jobs.table import NewJob
from supervisors.testing import wait_for

TERMINAL = ("completed", "discarded", "cancelled")


def ended(node: fs.Node, job_id: int, timeout: float = 10.0) -> fs.JobInfo:
    """The job once it has ended (a bounded poll: other processes announce nothing here)."""
    return wait_for(
        lambda: (info := node.jobs.get(job_id)).state in TERMINAL and info,
        timeout=timeout,
        message=f"job {job_id} ended",
    )


class TestHandles:
    def test_submit_returns_a_handle_at_once_and_wait_returns_the_value(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = probe.block
        node = start_node(queues={"assets": 1})
        began = time.monotonic()
        handle = node.submit(pipeline, "value", partition="eu")
        assert time.monotonic() - began < 2.0  # did not wait for the blocked asset
        assert isinstance(handle, fs.RunHandle)
        assert isinstance(handle.id, int)
        assert handle.status().state in ("available", "executing")
        probe.gate.set()
        assert handle.wait(10) == "value:eu"
        assert node.get(pipeline, "value", "eu") == "value:eu"

    def test_status_and_jobs_get_describe_the_job(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "value", partition=3)
        handle.wait(10)
        info = handle.status()
        assert info == node.jobs.get(handle.id)
        assert isinstance(info, fs.JobInfo)
        assert info.id == handle.id
        assert info.state == "completed"
        assert info.queue == "assets"
        assert info.attempt == 1
        assert info.max_attempts == fs.NodeConfig().job_retry.max_attempts
        assert info.errors == []
        assert info.scheduled_at is not None
        assert info.scheduled_at.tzinfo is not None
        assert info.attempted_by == node.id

    def test_jobs_get_of_an_unknown_id_raises_a_clear_error(self, start_node: StartNode) -> None:
        node = start_node()
        with pytest.raises(fs.FlowStoneError, match="no job 424242"):
            node.jobs.get(424242)

    def test_wait_times_out_while_no_worker_runs_the_job(self, start_node: StartNode) -> None:
        node = start_node()  # no queues: this node only enqueues
        handle = node.submit(pipeline, "value")
        with pytest.raises(TimeoutError, match=str(handle.id)):
            handle.wait(0.2)
        assert handle.status().state == "available"
        assert handle.status().attempt == 0

    def test_wait_raises_materialization_error_when_the_job_is_cancelled(self, start_node: StartNode) -> None:
        node = start_node()
        handle = node.submit(pipeline, "value", partition="x")
        assert handle.cancel()
        with pytest.raises(fs.MaterializationError, match="cancelled"):
            handle.wait(5)
        assert handle.status().state == "cancelled"

    def test_wait_raises_materialization_error_when_the_job_is_discarded(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        def discard(ctx: fs.Context, nth: int) -> None:
            raise fs.Discard("no such customer")

        probe.hooks["value"] = discard
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "value")
        with pytest.raises(fs.MaterializationError, match="no such customer") as caught:
            handle.wait(10)
        assert caught.value.asset == "value"
        assert handle.status().state == "discarded"


class TestScheduling:
    def test_a_job_scheduled_in_the_future_waits_and_then_runs(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1})
        at = datetime.now(UTC) + timedelta(seconds=1.0)
        handle = node.submit(pipeline, "value", partition="later", scheduled_at=at)
        assert handle.status().state == "scheduled"
        assert abs((handle.status().scheduled_at - at).total_seconds()) < 0.01  # type: ignore[operator]
        assert handle.wait(10) == "value:later"
        [call] = probe.of("value", "later")
        assert call.at >= at.timestamp() - 0.05  # the database clock and ours agree to ~ms

    def test_a_past_scheduled_at_in_another_time_zone_is_due_at_once(self, start_node: StartNode) -> None:
        node = start_node()
        east = timezone(timedelta(hours=5))
        at = (datetime.now(UTC) - timedelta(seconds=5)).astimezone(east)
        handle = node.submit(pipeline, "value", scheduled_at=at)
        info = handle.status()
        assert info.state == "available"
        assert info.scheduled_at == at

    def test_a_future_scheduled_at_in_another_time_zone_is_not_due_yet(self, start_node: StartNode) -> None:
        node = start_node()
        west = timezone(timedelta(hours=-5))
        at = (datetime.now(UTC) + timedelta(minutes=10)).astimezone(west)
        handle = node.submit(pipeline, "value", scheduled_at=at)
        assert handle.status().state == "scheduled"
        assert fs.testing.drain(node) == {}

    def test_a_naive_scheduled_at_is_refused(self, start_node: StartNode) -> None:
        node = start_node()
        with pytest.raises(ValueError, match="timezone-aware"):
            node.submit(pipeline, "value", scheduled_at=datetime.now())

    def test_lower_priority_numbers_run_first(self, start_node: StartNode, probe: Probe) -> None:
        node = start_node()
        for priority in (3, 0, 9, 1):
            node.submit(pipeline, "value", partition=f"p{priority}", priority=priority)
        assert fs.testing.drain(node) == {"completed": 4}
        assert [c.partition for c in probe.calls] == ["p0", "p1", "p3", "p9"]

    def test_equal_priorities_run_in_submit_order(self, start_node: StartNode, probe: Probe) -> None:
        node = start_node()
        for name in ("c", "a", "b"):
            node.submit(pipeline, "value", partition=name)
        fs.testing.drain(node)
        assert [c.partition for c in probe.calls] == ["c", "a", "b"]

    @pytest.mark.parametrize("priority", [-1, 10, 1.5])
    def test_a_priority_outside_zero_to_nine_is_refused(
        self, start_node: StartNode, priority: object
    ) -> None:
        node = start_node()
        with pytest.raises(ValueError, match="priority"):
            node.submit(pipeline, "value", priority=priority)  # type: ignore[arg-type]


class TestReferences:
    def test_a_pipeline_defined_inside_a_function_is_refused_at_submit(self, start_node: StartNode) -> None:
        node = start_node()
        local = fs.Pipeline("local")

        @local.asset
        def thing(ctx: fs.Context) -> int:
            return 1

        with pytest.raises(fs.FlowStoneError, match="inside a function") as caught:
            node.submit(local, "thing")
        assert "package.module:attribute" in str(caught.value)
        assert node.jobs.list() == []

    def test_an_unknown_asset_is_refused_at_submit(self, start_node: StartNode) -> None:
        node = start_node()
        with pytest.raises(fs.AssetNotFoundError):
            node.submit(pipeline, "no_such_asset")

    @pytest.mark.parametrize(
        ("reference", "named"),
        [("nope.module:pipe", "nope.module"), ("job_pipelines:missing", "missing")],
    )
    def test_a_job_whose_pipeline_cannot_be_imported_is_discarded_naming_the_path(
        self, start_node: StartNode, reference: str, named: str
    ) -> None:
        node = start_node(queues={"assets": 1})
        job_id, created = node.jobs.table.insert(
            NewJob(
                queue="assets",
                pipeline_ref=reference,
                pipeline="nope",
                asset="value",
                partition_key=partitions.serialize(None),
                options={},
                priority=0,
                max_attempts=3,
            )
        )
        assert created
        info = ended(node, job_id)
        assert info.state == "discarded"
        assert info.attempt == 1  # not retried: an import path does not fix itself
        [error] = info.errors
        assert reference in error["error"]
        assert named in error["error"]

    def test_the_job_row_carries_the_import_path_and_the_partition(self, start_node: StartNode) -> None:
        node = start_node()
        handle = node.submit(pipeline, "value", partition=("eu", 3))
        info = handle.status()
        assert (info.pipeline, info.asset) == ("jobs", "value")
        assert partitions.deserialize(info.partition_key) == ("eu", 3)


class TestWakeUpsAndOptions:
    def test_a_submit_wakes_this_nodes_idle_workers_at_once(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1}, poll_interval=30.0)  # polling would take 30 s
        assert node.submit(pipeline, "value", partition=1).wait(5) == "value:1"
        assert node.submit(pipeline, "value", partition=2).wait(5) == "value:2"

    @pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
    def test_a_notification_wakes_an_idle_worker_on_another_node(
        self, start_node: StartNode, db: Database
    ) -> None:
        worker = start_node(queues={"assets": 1}, poll_interval=30.0)
        wait_for(
            lambda: db.rows(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            ),
            timeout=10,
            message="the worker listening",
        )
        producer = start_node()  # no queues: its submit wakes nobody in this node
        handle = producer.submit(pipeline, "value", partition="remote")
        assert handle.wait(5) == "value:remote"
        assert handle.status().attempted_by == worker.id

    def test_run_options_travel_with_the_job_to_another_node(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        producer = start_node()
        producer.run(pipeline, "value", partition="f")
        start_node(queues={"assets": 1})
        producer.submit(pipeline, "value", partition="f").wait(10)
        assert len(probe.of("value", "f")) == 1  # materialized already: not run again
        producer.submit(pipeline, "value", partition="f", force=True).wait(10)
        assert len(probe.of("value", "f")) == 2  # force=True reached the other node


class TestDurableBackfill:
    def test_a_durable_backfill_enqueues_one_low_priority_job_per_partition(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 2})
        seen: list[tuple[int, int | None]] = []
        report = node.backfill(
            pipeline,
            "value",
            ["a", "b", "c"],
            durable=True,
            progress=lambda done, total: seen.append((done, total)),
        )
        assert (report.succeeded, report.failed, report.total) == (3, 0, 3)
        assert seen
        assert seen[-1] == (3, 3)
        jobs = node.jobs.list(state="completed")
        assert sorted(partitions.deserialize(j.partition_key) for j in jobs) == ["a", "b", "c"]
        assert {j.priority for j in jobs} == {BACKFILL_PRIORITY}
        assert BACKFILL_PRIORITY > 0
        assert sorted(c.partition for c in probe.calls) == ["a", "b", "c"]

    def test_a_durable_backfill_skips_partitions_already_materialized(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1})
        node.run(pipeline, "value", partition="a")
        report = node.backfill(pipeline, "value", ["a", "b"], durable=True)
        assert (report.succeeded, report.skipped) == (1, 1)
        assert [c.partition for c in probe.calls] == ["a", "b"]
