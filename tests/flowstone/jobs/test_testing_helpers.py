"""``fs.testing.drain`` and ``fs.testing.assert_enqueued``: jobs in tests, without workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from job_pipelines import Probe, pipeline
from job_support import StartNode

import flowstone as fs


class TestDrain:
    def test_drain_runs_every_available_job_in_the_calling_thread(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node()
        handles = [node.submit(pipeline, "value", partition=n) for n in range(3)]
        assert fs.testing.drain(node) == {"completed": 3}
        assert [h.status().state for h in handles] == ["completed"] * 3
        assert [h.wait(1) for h in handles] == ["value:0", "value:1", "value:2"]
        assert len(probe.calls) == 3
        assert fs.testing.drain(node) == {}

    def test_drain_counts_each_outcome(self, start_node: StartNode, probe: Probe) -> None:
        def steer(ctx: fs.Context, nth: int) -> None:
            if ctx.partition == "discard":
                raise fs.Discard("bad")
            if ctx.partition == "snooze":
                raise fs.Snooze(60)
            if ctx.partition == "fail":
                raise ValueError("again later")

        probe.hooks["flaky"] = steer
        node = start_node()
        for partition in ("ok", "discard", "snooze", "fail"):
            node.submit(pipeline, "flaky", partition=partition)
        assert fs.testing.drain(node) == {"completed": 1, "discarded": 1, "snoozed": 1, "retryable": 1}

    def test_drain_of_one_queue_leaves_the_others(self, start_node: StartNode) -> None:
        node = start_node()
        assets = node.submit(pipeline, "value", partition="a")
        other = node.submit(pipeline, "value", partition="b", queue="other")
        assert fs.testing.drain(node, queue="other") == {"completed": 1}
        assert other.status().state == "completed"
        assert assets.status().state == "available"

    def test_drain_leaves_jobs_scheduled_for_later(self, start_node: StartNode) -> None:
        node = start_node()
        later = node.submit(pipeline, "value", scheduled_at=datetime.now(UTC) + timedelta(hours=1))
        assert fs.testing.drain(node) == {}
        assert later.status().state == "scheduled"


class TestAssertEnqueued:
    def test_it_returns_the_waiting_job(self, start_node: StartNode) -> None:
        node = start_node()
        handle = node.submit(pipeline, "value", partition="eu")
        info = fs.testing.assert_enqueued(node, asset="value", partition="eu")
        assert info.id == handle.id
        assert fs.testing.assert_enqueued(node, asset="value", partition="eu", queue="assets").id == handle.id

    def test_it_fails_listing_what_is_queued(self, start_node: StartNode) -> None:
        node = start_node()
        node.submit(pipeline, "value", partition="eu")
        node.submit(pipeline, "flaky", partition="us")
        with pytest.raises(AssertionError) as caught:
            fs.testing.assert_enqueued(node, asset="value", partition="us")
        message = str(caught.value)
        assert "'value'" in message
        assert 'value["eu"]' in message
        assert 'flaky["us"]' in message

    def test_it_fails_once_the_job_has_run(self, start_node: StartNode) -> None:
        node = start_node()
        node.submit(pipeline, "value", partition="eu")
        fs.testing.drain(node)
        with pytest.raises(AssertionError, match="queued: nothing"):
            fs.testing.assert_enqueued(node, asset="value", partition="eu")

    def test_it_fails_for_a_job_in_another_queue(self, start_node: StartNode) -> None:
        node = start_node()
        node.submit(pipeline, "value", partition="eu", queue="other")
        with pytest.raises(AssertionError):
            fs.testing.assert_enqueued(node, asset="value", partition="eu", queue="assets")
