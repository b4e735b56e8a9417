"""Administering jobs: list, retry, cancel, pause, resume, scale, stats, and pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from job_pipelines import Probe, pipeline
from job_support import Database, StartNode, stays

import flowstone as fs
from supervisors.testing import wait_for


class TestListRetryCancel:
    def test_list_filters_by_state_and_queue_newest_first(self, start_node: StartNode) -> None:
        node = start_node()
        a = node.submit(pipeline, "value", partition="a")
        b = node.submit(pipeline, "value", partition="b", queue="backfill")
        c = node.submit(pipeline, "value", partition="c")
        c.cancel()
        assert [j.id for j in node.jobs.list()] == [c.id, b.id, a.id]
        assert [j.id for j in node.jobs.list(state="available")] == [b.id, a.id]
        assert [j.id for j in node.jobs.list(queue="assets")] == [c.id, a.id]
        assert [j.id for j in node.jobs.list(state="available", queue="assets")] == [a.id]
        assert node.jobs.list(state="completed") == []
        assert [j.id for j in node.jobs.list(limit=1)] == [c.id]

    def test_retry_of_a_discarded_job_runs_it_again(self, start_node: StartNode, probe: Probe) -> None:
        def discard_first(ctx: fs.Context, nth: int) -> None:
            if nth == 1:
                raise fs.Discard("not yet")

        probe.hooks["flaky"] = discard_first
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "flaky")
        with pytest.raises(fs.MaterializationError):
            handle.wait(10)
        assert node.jobs.retry(handle.id)
        assert handle.wait(10) == "flaky:None"
        info = handle.status()
        assert (info.state, info.attempt) == ("completed", 2)
        assert len(info.errors) == 1  # the discarded attempt's error is kept
        assert [c.attempt for c in probe.of("flaky")] == [1, 2]

    def test_retry_of_a_job_that_used_all_attempts_grants_one_more(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "poison")
        with pytest.raises(fs.MaterializationError):
            handle.wait(10)
        assert node.jobs.retry(handle.id)
        with pytest.raises(fs.MaterializationError, match="attempt 4"):
            handle.wait(10)
        assert (handle.status().attempt, handle.status().max_attempts) == (4, 4)

    def test_retry_of_an_available_job_changes_nothing(self, start_node: StartNode) -> None:
        node = start_node()
        handle = node.submit(pipeline, "value")
        assert not node.jobs.retry(handle.id)
        assert handle.status().state == "available"

    def test_cancel_of_an_available_job_means_it_never_runs(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1})
        node.jobs.pause("assets")
        doomed = node.submit(pipeline, "value", partition="doomed")
        later = node.submit(pipeline, "value", partition="later")
        assert node.jobs.cancel(doomed.id)
        assert doomed.status().state == "cancelled"
        node.jobs.resume("assets")
        assert later.wait(10) == "value:later"  # submitted after: it would have run second
        assert probe.of("value", "doomed") == []
        assert doomed.status().state == "cancelled"

    def test_cancel_of_a_finished_job_returns_false(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "value")
        handle.wait(10)
        assert not node.jobs.cancel(handle.id)
        assert handle.status().state == "completed"

    def test_a_job_cancelled_while_executing_is_not_counted_completed(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = probe.block
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "value")
        wait_for(lambda: probe.started("value"), timeout=10, message="the job started")
        assert handle.cancel()
        probe.gate.set()
        with pytest.raises(fs.MaterializationError, match="cancelled"):
            handle.wait(10)
        # One worker: the next job is claimed only after the cancelled one was acknowledged.
        assert node.submit(pipeline, "value", partition="next").wait(10) == "value:next"
        assert len(probe.of("value")) == 1  # the attempt did run to its end...
        assert handle.status().state == "cancelled"  # ...but its acknowledgement was refused


class TestQueueControl:
    def test_pause_stops_claiming_and_resume_runs_the_job(self, start_node: StartNode, probe: Probe) -> None:
        node = start_node(queues={"assets": 1})
        assert node.jobs.pause("assets")["paused"] is True
        handle = node.submit(pipeline, "value")
        assert stays(lambda: handle.status().state != "available", within=0.5)  # ten poll intervals
        assert probe.calls == []
        assert node.jobs.resume("assets")["paused"] is False
        assert handle.wait(10) == "value:None"

    def test_control_of_a_queue_this_node_does_not_run_is_refused(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        with pytest.raises(fs.FlowStoneError, match="no queue 'other'"):
            node.jobs.pause("other")

    def test_with_scale_one_two_blocking_jobs_never_run_at_once(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = probe.block
        node = start_node(queues={"assets": 2})
        assert node.jobs.scale("assets", 1)["limit"] == 1
        first = node.submit(pipeline, "value", partition=1)
        second = node.submit(pipeline, "value", partition=2)
        wait_for(lambda: probe.started("value"), timeout=10, message="one job started")
        assert stays(lambda: probe.started("value") > 1, within=0.5)
        probe.gate.set()
        first.wait(10)
        second.wait(10)
        assert probe.max_active == 1

    def test_scale_up_runs_more_jobs_at_once(self, start_node: StartNode, probe: Probe) -> None:
        probe.hooks["value"] = probe.block
        node = start_node(queues={"assets": 1})
        handles = [node.submit(pipeline, "value", partition=n) for n in range(3)]
        wait_for(lambda: probe.started("value"), timeout=10, message="one job started")
        assert stays(lambda: probe.started("value") > 1, within=0.3)
        assert node.jobs.scale("assets", 3)["limit"] == 3
        wait_for(lambda: probe.active == 3, timeout=10, message="three jobs running at once")
        probe.gate.set()
        for handle in handles:
            handle.wait(10)
        assert probe.max_active == 3

    def test_scale_to_zero_stops_claiming(self, start_node: StartNode, probe: Probe) -> None:
        node = start_node(queues={"assets": 1})
        node.jobs.scale("assets", 0)
        handle = node.submit(pipeline, "value")
        assert stays(lambda: handle.status().state != "available")
        node.jobs.scale("assets", 1)
        assert handle.wait(10) == "value:None"

    def test_a_queue_runs_no_more_jobs_at_once_than_its_concurrency(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = probe.block
        node = start_node(queues={"assets": 2})
        handles = [node.submit(pipeline, "value", partition=n) for n in range(4)]
        wait_for(lambda: probe.active == 2, timeout=10, message="two jobs running")
        assert stays(lambda: probe.active > 2, within=0.3)
        probe.gate.set()
        for handle in handles:
            handle.wait(10)
        assert probe.max_active == 2


class TestStats:
    def test_stats_count_per_state_and_queue(self, start_node: StartNode) -> None:
        node = start_node()
        node.submit(pipeline, "value", partition=1)
        node.submit(pipeline, "value", partition=2)
        node.submit(pipeline, "value", partition=3).cancel()
        node.submit(pipeline, "value", partition=4, queue="backfill")
        node.submit(pipeline, "value", partition=5, scheduled_at=datetime.now(UTC) + timedelta(hours=1))
        stats = node.jobs.stats()
        assert stats["queues"] == {
            "assets": {"available": 2, "cancelled": 1, "scheduled": 1},
            "backfill": {"available": 1},
        }
        assert stats["states"] == {"available": 3, "cancelled": 1, "scheduled": 1}
        assert 0 <= stats["oldest_available_age"] < 60

    def test_oldest_available_age_is_that_of_the_longest_waiting_job(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node()
        old = node.submit(pipeline, "value", partition="old")
        node.submit(pipeline, "value", partition="new")
        db.backdate(old.id, "scheduled_at", datetime.now(UTC) - timedelta(hours=1))
        age = node.jobs.stats()["oldest_available_age"]
        assert 3590 <= age <= 3700

    def test_stats_of_an_empty_table(self, start_node: StartNode) -> None:
        node = start_node()
        assert node.jobs.stats() == {"queues": {}, "states": {}, "oldest_available_age": None}


class TestPruning:
    def test_only_terminal_jobs_older_than_prune_after_are_deleted(
        self, start_node: StartNode, db: Database
    ) -> None:
        # Every node holds the pruning lease for 3/4 of its rescue_after: keep it short.
        maker = start_node(queues={"assets": 1}, rescue_after=1.0)
        old_done = maker.submit(pipeline, "value", partition="old-done")
        recent_done = maker.submit(pipeline, "value", partition="recent-done")
        old_done.wait(10)
        recent_done.wait(10)
        maker.stop()
        lister = start_node(rescue_after=1.0)
        old_cancelled = lister.submit(pipeline, "value", partition="old-cancelled")
        old_cancelled.cancel()
        waiting = lister.submit(pipeline, "value", partition="waiting")
        lister.stop()
        long_ago = datetime.now(UTC) - timedelta(days=2)
        db.backdate(old_done.id, "completed_at", long_ago)
        db.backdate(old_cancelled.id, "cancelled_at", long_ago)
        db.backdate(waiting.id, "scheduled_at", long_ago)  # old but not finished: stays
        db.backdate(waiting.id, "inserted_at", long_ago)

        pruner = start_node(rescue_after=1.0, prune_after=86400.0, upkeep=True)  # prunes, queues or not
        wait_for(
            lambda: {j.id for j in pruner.jobs.list()} == {recent_done.id, waiting.id},
            timeout=10,
            message="old terminal jobs pruned",
        )
        with pytest.raises(fs.FlowStoneError, match="pruned"):
            pruner.jobs.get(old_done.id)
        assert pruner.jobs.get(waiting.id).state == "available"
        assert pruner.jobs.get(recent_done.id).state == "completed"
