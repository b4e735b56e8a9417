"""Issue 16, parallel branches on a node that works queues: each branch is a durable job
of its final asset (any worker on the database may run it), and the join runs once."""

from __future__ import annotations

from collections.abc import Iterator

import parallel_pipelines
import pytest
from conftest import TICK
from parallel_pipelines import two_reports

import flowstone as fs


@pytest.fixture(params=["sqlite", "postgres"])
def worker(request: pytest.FixtureRequest) -> Iterator[fs.Node]:
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    parallel_pipelines.JOINS.clear()
    parallel_pipelines.FAILED_JOINS.clear()
    with fs.start(
        database_url=url,
        queues={"assets": 2},
        wait_tick=TICK,
        poll_interval=0.05,
        job_retry=fs.Retry(max_attempts=2, base_delay=0.01),  # a failing branch job ends soon
    ) as node:
        yield node


def test_each_branch_is_a_job_of_its_final_asset(worker: fs.Node) -> None:
    p = parallel_pipelines.as_jobs
    assert worker.run(p, "reports", timeout=30) == {"eu": 12, "us": 3}
    jobs = {job.asset: job.state for job in worker.jobs.list()}
    assert jobs == {"eu_report": "completed", "us_report": "completed"}
    assert len(parallel_pipelines.JOINS) == 1


def test_a_submitted_parallel_asset_runs_its_branches_as_jobs_and_joins_once(worker: fs.Node) -> None:
    p = parallel_pipelines.as_jobs
    handles = [worker.submit(p, "reports", partition=n) for n in range(3)]
    assert [h.wait(timeout=30) for h in handles] == [{"eu": 12, "us": 3}] * 3
    assert len(parallel_pipelines.JOINS) == 3
    branch_jobs = sorted(job.asset for job in worker.jobs.list() if job.asset != "reports")
    assert branch_jobs == ["eu_report"] * 3 + ["us_report"] * 3


def test_a_branch_job_that_fails_for_good_fails_the_parallel_asset(worker: fs.Node) -> None:
    """Only its last attempt ends the branch: a job retried is still running."""
    p = parallel_pipelines.failing_as_jobs
    with pytest.raises(fs.MaterializationError):
        worker.run(p, "reports", timeout=30)
    error = worker.status(p, "reports").error or ""
    assert "ParallelBranchError" in error
    assert "no EU data" in error
    assert parallel_pipelines.FAILED_JOINS == []


def test_a_pipeline_no_worker_can_import_runs_its_branches_on_this_node(worker: fs.Node) -> None:
    joins: list[dict[str, fs.BranchResult]] = []
    p = two_reports(joins)  # defined in a function: not importable, so not a job
    assert worker.run(p, "reports", timeout=30) == {"eu": 12, "us": 3}
    assert worker.jobs.list() == []
