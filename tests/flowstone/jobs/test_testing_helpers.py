"""``fs.testing.drain`` and ``fs.testing.assert_enqueued``: jobs in tests, without workers."""

from __future__ import annotations

import re
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


def always_fail(ctx: fs.Context, nth: int) -> None:
    raise ValueError(f"attempt {nth} fails")


def fail_first(ctx: fs.Context, nth: int) -> None:
    if nth == 1:
        raise ValueError("the first attempt fails")


class TestDrainOptions:
    """``drain(with_scheduled=, with_retries=, until_empty=)``, after Oban's ``drain_queue``."""

    def test_with_retries_a_failed_job_is_retried_until_its_value_is_stored(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        def fail_twice(ctx: fs.Context, nth: int) -> None:
            if nth <= 2:
                raise ValueError(f"attempt {nth} fails")

        probe.hooks["value"] = fail_twice  # the node's job_retry: 15 s before the first retry
        node = start_node()
        handle = node.submit(pipeline, "value", partition="eu")
        assert fs.testing.drain(node, with_retries=True) == {"retryable": 2, "completed": 1}
        assert handle.wait(1) == "value:eu"
        assert [c.attempt for c in probe.of("value", "eu")] == [1, 2, 3]

    def test_without_with_retries_a_failed_job_waits_for_its_retry(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = always_fail
        node = start_node()
        handle = node.submit(pipeline, "value", partition="eu")
        assert fs.testing.drain(node) == {"retryable": 1}
        assert handle.status().state == "retryable"

    def test_with_retries_a_job_that_always_fails_ends_discarded(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = always_fail
        node = start_node()
        handle = node.submit(pipeline, "value", partition="eu")
        assert fs.testing.drain(node, with_retries=True) == {"retryable": 4, "discarded": 1}
        assert handle.status().state == "discarded"

    def test_with_scheduled_a_job_scheduled_for_later_runs_now(self, start_node: StartNode) -> None:
        node = start_node()
        later = node.submit(pipeline, "value", scheduled_at=datetime.now(UTC) + timedelta(hours=1))
        assert fs.testing.drain(node, with_scheduled=True) == {"completed": 1}
        assert later.wait(1) == "value:None"

    def test_with_scheduled_a_snoozed_job_runs_again(self, start_node: StartNode, probe: Probe) -> None:
        def snooze_once(ctx: fs.Context, nth: int) -> None:
            if nth == 1:
                raise fs.Snooze(3600)

        probe.hooks["value"] = snooze_once
        node = start_node()
        handle = node.submit(pipeline, "value", partition="eu")
        assert fs.testing.drain(node, with_scheduled=True) == {"snoozed": 1, "completed": 1}
        assert handle.wait(1) == "value:eu"

    def test_until_empty_runs_the_jobs_that_jobs_submit_in_other_queues(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node()

        def submit_child(ctx: fs.Context, nth: int) -> None:
            if ctx.partition == "parent":
                node.submit(pipeline, "value", partition="child", queue="other")

        probe.hooks["value"] = submit_child
        node.submit(pipeline, "value", partition="parent")
        assert fs.testing.drain(node) == {"completed": 1}
        fs.testing.assert_enqueued(node, asset="value", partition="child")
        assert fs.testing.drain(node, until_empty=True) == {"completed": 1}
        fs.testing.refute_enqueued(node, asset="value", any_partition=True)

    def test_all_options_together_leave_nothing_waiting(self, start_node: StartNode, probe: Probe) -> None:
        probe.hooks["value"] = fail_first
        node = start_node()
        node.submit(pipeline, "value", partition="now")
        node.submit(pipeline, "value", partition="later", scheduled_at=datetime.now(UTC) + timedelta(days=1))
        counts = fs.testing.drain(node, with_scheduled=True, with_retries=True, until_empty=True)
        assert counts == {"retryable": 2, "completed": 2}
        fs.testing.refute_enqueued(node, asset="value", any_partition=True)


class TestRefuteEnqueued:
    def test_it_passes_when_nothing_waits_for_the_asset(self, start_node: StartNode) -> None:
        node = start_node()
        node.submit(pipeline, "value", partition="eu")
        fs.testing.refute_enqueued(node, asset="value", partition="us")
        fs.testing.refute_enqueued(node, asset="flaky", any_partition=True)

    def test_it_fails_listing_the_jobs_that_wait(self, start_node: StartNode) -> None:
        node = start_node()
        handle = node.submit(pipeline, "value", partition="eu")
        wanted = re.escape(
            f"""asset 'value', partition "eu"; found: value["eu"] (job {handle.id}, available)"""
        )
        with pytest.raises(AssertionError, match=wanted):
            fs.testing.refute_enqueued(node, asset="value", partition="eu")
        with pytest.raises(AssertionError, match="any partition"):
            fs.testing.refute_enqueued(node, asset="value", any_partition=True)

    def test_a_job_that_ran_is_not_enqueued(self, start_node: StartNode) -> None:
        node = start_node()
        node.submit(pipeline, "value", partition="eu")
        fs.testing.drain(node)
        fs.testing.refute_enqueued(node, asset="value", partition="eu")


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
