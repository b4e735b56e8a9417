"""A job whose asset requires a resource its worker was not started with is discarded at
once with the ``DefinitionError`` ``node.run`` raises (naming the asset, the resource and
those that exist), instead of failing with "not set up" and being retried."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowstone as fs

pipeline = fs.Pipeline("jobs_requires")


@pipeline.asset(requires=("wh",))
def orders(ctx: fs.Context) -> int:
    return 1


def test_a_job_needing_a_resource_the_worker_lacks_is_discarded_naming_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with fs.start(database_url=url, queues={"assets": 1}, resources={"config": {}}) as node:
        handle = node.jobs.submit(pipeline, "orders")
        with pytest.raises(fs.MaterializationError, match="discarded after 1 attempt") as failed:
            handle.wait(timeout=30)
        info = handle.status()
    assert info.state == "discarded"
    message = str(failed.value)
    assert "asset 'orders' requires the resource 'wh'" in message
    assert "its resources: config" in message


def test_a_job_whose_resources_exist_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with fs.start(database_url=url, queues={"assets": 1}, resources={"wh": object()}) as node:
        assert node.jobs.submit(pipeline, "orders").wait(timeout=30) == 1
        assert node.jobs.submit(pipeline, "orders", force=True).wait(timeout=30) == 1  # remembered
