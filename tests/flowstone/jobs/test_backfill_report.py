"""A durable backfill's report [12.6]: each failed partition carries the asset's own error, as
its job recorded it, the same as an in-process backfill's; results stream as jobs end."""

from __future__ import annotations

import pytest
from job_pipelines import Probe, pipeline
from job_support import StartNode

import flowstone as fs
from flowstone._jobs.records import RecordedError


def fail_for(*days: str) -> object:
    def hook(ctx: fs.Context, nth: int) -> None:
        if ctx.partition in days:
            raise ValueError(f"no data for {ctx.partition}")

    return hook


class TestFailures:
    @pytest.mark.timeout(30)
    def test_a_failed_partition_carries_the_error_its_asset_raised(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = fail_for("b")
        node = start_node(queues={"assets": 2}, job_retry=fs.Retry(max_attempts=1))

        report = node.backfill(pipeline, "value", ["a", "b", "c"], durable=True)

        assert (report.succeeded, report.failed) == (2, 1)
        [failure] = report.failures
        assert (failure.partition, failure.status) == ("b", "failed")
        assert isinstance(failure.error, fs.MaterializationError)
        assert (failure.error.asset, failure.error.partition, failure.error.attempts) == ("value", "b", 1)
        assert "ValueError: no data for b" in str(failure.error)
        assert "ended discarded after 1 attempt(s)" in str(failure.error)
        cause = failure.error.__cause__
        assert isinstance(cause, RecordedError)
        assert str(cause) == "ValueError: no data for b"

    @pytest.mark.timeout(30)
    def test_the_error_is_the_last_attempts_and_every_attempt_is_counted(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1})

        report = node.backfill(pipeline, "poison", ["p"], durable=True)  # 3 attempts, 10 ms apart

        [failure] = report.failures
        assert isinstance(failure.error, fs.MaterializationError)
        assert failure.error.attempts == 3
        assert str(failure.error.__cause__) == "RuntimeError: poison on attempt 3"
        assert len(probe.of("poison", "p")) == 3

    @pytest.mark.timeout(30)
    def test_the_in_process_and_durable_reports_name_the_same_cause(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = fail_for("x")
        node = start_node(queues={"assets": 1}, job_retry=fs.Retry(max_attempts=1))

        in_process = node.backfill(pipeline, "value", ["x"])
        durable = node.backfill(pipeline, "value", ["x"], durable=True)

        [here], [there] = in_process.failures, durable.failures
        assert here.error is not None
        assert there.error is not None
        own = here.error.__cause__
        assert f"{type(own).__name__}: {own}" == str(there.error.__cause__) == "ValueError: no data for x"


class TestStreaming:
    @pytest.mark.timeout(30)
    def test_backfill_iter_enqueues_every_job_at_once_and_yields_each_as_it_ends(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        probe.hooks["value"] = fail_for("b")
        node = start_node(queues={"assets": 2}, job_retry=fs.Retry(max_attempts=1))
        node.run(pipeline, "value", partition="done")

        results = node.jobs.backfill_iter(pipeline, "value", ["done", "a", "b"])

        assert len(node.jobs.list()) == 2  # enqueued before the first result is asked for
        first, *rest = list(results)
        assert (first.partition, first.status) == ("done", "skipped")
        assert sorted((r.partition, r.status) for r in rest) == [("a", "succeeded"), ("b", "failed")]
