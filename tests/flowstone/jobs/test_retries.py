"""Retries of durable jobs [3]: the asset's Retry, the node's job_retry, poison, snooze, discard."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from job_pipelines import Probe, pipeline
from job_support import StartNode, StartWorker, lines

import flowstone as fs
from supervisors.testing import wait_for


def fail_first(times: int) -> object:
    """A hook that raises on the first ``times`` calls of an asset and passes afterwards."""

    def hook(ctx: fs.Context, nth: int) -> None:
        if nth <= times:
            raise ValueError(f"flaky failure {nth}")

    return hook


class TestAssetRetry:
    def test_a_job_failing_twice_completes_on_the_third_attempt(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["flaky"] = fail_first(2)
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "flaky", partition="p")
        assert handle.status().max_attempts == 3  # the asset's Retry, not the node's job_retry
        assert handle.wait(10) == "flaky:p"
        assert [c.attempt for c in probe.of("flaky", "p")] == [1, 2, 3]
        info = handle.status()
        assert (info.state, info.attempt, info.max_attempts) == ("completed", 3, 3)
        assert [e["attempt"] for e in info.errors] == [1, 2]
        assert [e["error"] for e in info.errors] == [
            "ValueError: flaky failure 1",
            "ValueError: flaky failure 2",
        ]
        assert all(e["at"] for e in info.errors)

    def test_retries_wait_for_the_backoff_delay(self, start_node: StartNode, probe: Probe) -> None:
        probe.hooks["flaky"] = fail_first(2)
        node = start_node(queues={"assets": 1})
        node.submit(pipeline, "flaky").wait(10)
        calls = probe.of("flaky")
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
        assert all(gap >= 0.045 for gap in gaps), gaps  # base_delay 0.05, constant

    def test_a_failed_attempt_leaves_the_job_retryable_until_its_delay_passes(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["flaky"] = fail_first(1)
        node = start_node()
        handle = node.submit(pipeline, "flaky")
        assert fs.testing.drain(node) == {"retryable": 1}
        info = handle.status()
        assert (info.state, info.attempt, len(info.errors)) == ("retryable", 1, 1)
        wait_for(lambda: fs.testing.drain(node).get("completed"), timeout=5, message="the retry ran")
        assert handle.status().attempt == 2

    def test_synchronous_run_keeps_its_own_default_of_no_retry(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = fail_first(1)
        node = start_node(job_retry=fs.Retry(max_attempts=2, base_delay=0.01))
        with pytest.raises(fs.MaterializationError):
            node.run(pipeline, "value")
        assert len(probe.of("value")) == 1


class TestNodeJobRetry:
    def test_the_default_job_retry_is_five_exponential_attempts(self) -> None:
        assert fs.NodeConfig().job_retry == fs.Retry(
            max_attempts=5, backoff="exponential", base_delay=15.0, max_delay=3600.0, jitter=0.1
        )

    def test_an_asset_without_retry_gets_the_default_job_retry(self, start_node: StartNode) -> None:
        node = start_node()
        assert node.submit(pipeline, "value").status().max_attempts == 5

    def test_an_asset_without_retry_gets_the_nodes_job_retry(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = fail_first(99)
        node = start_node(queues={"assets": 1}, job_retry=fs.Retry(max_attempts=2, base_delay=0.01))
        handle = node.submit(pipeline, "value")
        with pytest.raises(fs.MaterializationError, match="flaky failure 2"):
            handle.wait(10)
        info = handle.status()
        assert (info.state, info.attempt, info.max_attempts) == ("discarded", 2, 2)
        assert [c.attempt for c in probe.of("value")] == [1, 2]

    def test_an_asset_with_its_own_retry_ignores_the_nodes_job_retry(self, start_node: StartNode) -> None:
        node = start_node(job_retry=fs.Retry(max_attempts=7))
        assert node.submit(pipeline, "flaky").status().max_attempts == 3


class TestPoisonSnoozeDiscard:
    def test_a_poison_job_is_discarded_after_max_attempts_with_every_error_kept(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "poison")
        with pytest.raises(fs.MaterializationError, match="poison on attempt 3") as caught:
            handle.wait(10)
        assert caught.value.attempts == 3
        info = handle.status()
        assert (info.state, info.attempt, info.max_attempts) == ("discarded", 3, 3)
        assert [(e["attempt"], e["error"]) for e in info.errors] == [
            (n, f"RuntimeError: poison on attempt {n}") for n in (1, 2, 3)
        ]
        assert len(probe.of("poison")) == 3
        assert fs.testing.drain(node) == {}  # nothing left to run

    def test_a_snooze_reschedules_without_using_an_attempt(self, start_node: StartNode, probe: Probe) -> None:
        def snooze_once(ctx: fs.Context, nth: int) -> None:
            if nth == 1:
                raise fs.Snooze(0.05)

        probe.hooks["flaky"] = snooze_once
        node = start_node()
        handle = node.submit(pipeline, "flaky")
        before = handle.status().attempt
        assert fs.testing.drain(node) == {"snoozed": 1}
        info = handle.status()
        assert info.state == "scheduled"
        assert info.attempt == before
        assert info.errors == []  # a snooze is not an error
        wait_for(lambda: fs.testing.drain(node).get("completed"), timeout=5, message="the snoozed job ran")
        assert [c.attempt for c in probe.of("flaky")] == [1, 1]
        assert handle.status().attempt == 1

    def test_a_job_snoozing_more_often_than_max_attempts_still_completes(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        def snooze_four_times(ctx: fs.Context, nth: int) -> None:
            if nth <= 4:
                raise fs.Snooze(0.01)

        probe.hooks["flaky"] = snooze_four_times
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "flaky")  # max_attempts 3
        assert handle.wait(10) == "flaky:None"
        assert handle.status().attempt == 1
        assert len(probe.of("flaky")) == 5

    def test_discard_ends_the_job_at_once_without_retries(self, start_node: StartNode, probe: Probe) -> None:
        def discard(ctx: fs.Context, nth: int) -> None:
            raise fs.Discard("input is malformed")

        probe.hooks["flaky"] = discard
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "flaky")
        with pytest.raises(fs.MaterializationError, match="input is malformed"):
            handle.wait(10)
        info = handle.status()
        assert (info.state, info.attempt, info.max_attempts) == ("discarded", 1, 3)
        [error] = info.errors
        assert "input is malformed" in error["error"]
        assert len(probe.of("flaky")) == 1

    @pytest.mark.parametrize("seconds", [-1, float("nan")])
    def test_snooze_refuses_a_negative_or_nan_delay(self, seconds: float) -> None:
        with pytest.raises(ValueError, match="Snooze"):
            fs.Snooze(seconds)


def report_by(way: str, node: fs.Node, partition: str) -> tuple[object, fs.JobInfo | None]:
    """Materialize ``daily_report`` for ``partition`` one of the ways a pipeline is run;
    its value, and the job's info when a job ran it."""
    if way == "run":
        return node.run(pipeline, "daily_report", partition=partition), None
    if way == "backfill":
        report = node.backfill(pipeline, "daily_report", [partition])
        assert (report.succeeded, report.failed) == (1, 0), report
        return node.get(pipeline, "daily_report", partition=partition), None
    if way == "durable backfill":
        report = node.backfill(pipeline, "daily_report", [partition], durable=True)
        assert (report.succeeded, report.failed) == (1, 0), report
        [info] = node.jobs.list(state="completed")
        return node.get(pipeline, "daily_report", partition=partition), info
    handle = node.submit(pipeline, "daily_report", partition=partition)
    if way == "drain":
        assert fs.testing.drain(node) == {"completed": 1}
    return handle.wait(10), handle.status()


class TestUpstreamRetriesInsideAJob:
    """An upstream asset's own fs.Retry applies inside a job as in node.run [issue 12.4]."""

    @pytest.mark.parametrize("way", ["run", "backfill", "submit", "drain", "durable backfill"])
    def test_an_upstream_asset_gets_the_attempts_of_its_own_policy_whatever_runs_it(
        self, start_node: StartNode, probe: Probe, way: str
    ) -> None:
        # The job's own retry would get there too, but in three jobs' attempts: fast here,
        # so that a regression fails on the attempt counts, not on a timeout.
        queues = {"assets": 1} if way in ("submit", "durable backfill") else {}
        node = start_node(queues=queues, job_retry=fs.Retry(max_attempts=5, base_delay=0.0))
        value, info = report_by(way, node, "2025-05-01")
        assert value == "report of enriched:2025-05-01"
        assert [c.attempt for c in probe.of("enriched", "2025-05-01")] == [1, 2, 3]
        assert [c.attempt for c in probe.of("daily_report", "2025-05-01")] == [1]
        if info is not None:
            assert (info.state, info.attempt, info.errors) == ("completed", 1, [])

    def test_a_worker_process_applies_the_upstream_policy_too(
        self, start_node: StartNode, start_worker: StartWorker, database_url: str, tmp_path: Path
    ) -> None:
        node = start_node()
        start_worker(database_url)
        handle = node.submit(pipeline, "daily_report", partition="w")
        assert handle.wait(60) == "report of enriched:w"
        assert lines(tmp_path / "calls.log") == [
            "enriched w 1",
            "enriched w 2",
            "enriched w 3",
            "daily_report w 1",
        ]
        info = handle.status()
        assert (info.state, info.attempt, info.errors) == ("completed", 1, [])

    def test_the_jobs_retry_takes_over_what_the_upstream_policy_did_not_absorb(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1}, job_retry=fs.Retry(max_attempts=2, base_delay=0.0))
        handle = node.submit(pipeline, "needs_broken")
        with pytest.raises(fs.MaterializationError, match="broken_upstream"):
            handle.wait(10)
        info = handle.status()
        assert (info.state, info.attempt, info.max_attempts) == ("discarded", 2, 2)
        # Each of the job's two attempts gave the upstream asset its own two.
        assert [c.attempt for c in probe.of("broken_upstream")] == [1, 2, 1, 2]
        assert probe.of("needs_broken") == []
        assert [e["attempt"] for e in info.errors] == [1, 2]
        for entry in info.errors:
            assert entry["error"] == (
                "upstream asset 'broken_upstream' failed after 2 attempt(s): "
                "ConnectionError: always down (attempt 2)"
            )
