"""Run tags through durable jobs and durable backfills (issue 19, run metadata): the tags
given to ``node.submit``/``node.backfill(durable=True)`` are kept in the job's options, so
the worker that runs the job sees them as ``ctx.tags`` and the run is stored with them."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from job_pipelines import Probe, pipeline
from job_support import StartNode

import flowstone as fs

TAGS = {"team": "finance", "trace_id": "t-1"}


def recording(probe: Probe, asset: str) -> dict[object, tuple[str, Mapping[str, str]]]:
    """``partition → (run id, ctx.tags)`` for each run of ``asset`` the probe sees."""
    seen: dict[object, tuple[str, Mapping[str, str]]] = {}
    probe.hooks[asset] = lambda ctx, nth: seen.__setitem__(ctx.partition, (ctx.run_id, ctx.tags))
    return seen


class TestSubmittedJobs:
    def test_the_worker_sees_the_jobs_tags_and_the_run_keeps_them(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        seen = recording(probe, "value")
        node = start_node(queues={"assets": 1})
        assert node.submit(pipeline, "value", partition="eu", tags=TAGS).wait(10) == "value:eu"
        run_id, tags = seen["eu"]
        assert dict(tags) == TAGS
        assert dict(node.run_tags(run_id)) == TAGS

    def test_a_job_without_tags_runs_with_none(self, start_node: StartNode, probe: Probe) -> None:
        seen = recording(probe, "value")
        node = start_node(queues={"assets": 1})
        node.submit(pipeline, "value", partition="us").wait(10)
        assert dict(seen["us"][1]) == {}

    def test_bad_tags_are_refused_before_the_job_is_stored(self, start_node: StartNode) -> None:
        node = start_node()
        with pytest.raises(fs.TagError, match="'Bad'"):
            node.submit(pipeline, "value", partition="eu", tags={"Bad": "x"})
        assert node.jobs.list() == []


class TestDurableBackfill:
    def test_every_partitions_job_carries_the_tags(self, start_node: StartNode, probe: Probe) -> None:
        seen = recording(probe, "value")
        node = start_node(queues={"assets": 2})
        report = node.backfill(pipeline, "value", ["a", "b", "c"], durable=True, tags=TAGS)
        assert report.succeeded == 3
        assert sorted(seen) == ["a", "b", "c"]
        assert all(dict(tags) == TAGS for _, tags in seen.values())
        assert all(dict(node.run_tags(run_id)) == TAGS for run_id, _ in seen.values())
