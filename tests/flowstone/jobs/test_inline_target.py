"""[issue 22] A job whose run is its target alone runs the attempt in its own worker.

The runner hop (two thread hand-offs and a monitor) was about a fifth of a short job's
CPU. The node's runners still bound how many assets run at once; an asset with a timeout,
which a worker could not interrupt, still goes to a runner.
"""

from __future__ import annotations

import threading

import pytest
from job_support import StartNode

import flowstone as fs

here = fs.Pipeline("inline_jobs")
THREADS: dict[str, str] = {}


@here.asset
def plain(ctx: fs.Context) -> str:
    THREADS[str(ctx.partition)] = threading.current_thread().name
    return "plain"


@here.asset(timeout=30)
def bounded(ctx: fs.Context) -> str:
    THREADS[str(ctx.partition)] = threading.current_thread().name
    return "bounded"


@here.asset(retry=fs.Retry(max_attempts=1))
def failing(ctx: fs.Context) -> str:
    raise ValueError("no data")


def test_a_lone_target_runs_in_the_job_worker_thread(start_node: StartNode) -> None:
    node = start_node(queues={"assets": 2})
    assert node.submit(here, "plain", partition="a").wait(30) == "plain"
    assert THREADS["a"].startswith("JobWorker")


def test_a_target_with_a_timeout_still_runs_on_a_runner(start_node: StartNode) -> None:
    node = start_node(queues={"assets": 2})
    assert node.submit(here, "bounded", partition="b").wait(30) == "bounded"
    assert THREADS["b"].startswith("RunnerActor")


def test_a_lone_target_that_raises_fails_its_job_and_not_its_worker(start_node: StartNode) -> None:
    node = start_node(queues={"assets": 1})
    handle = node.submit(here, "failing", partition="c")
    with pytest.raises(fs.MaterializationError, match="no data"):
        handle.wait(30)
    assert node.jobs.get(handle.id).state == "discarded"
    assert node.submit(here, "plain", partition="d").wait(30) == "plain"  # the worker lives on
