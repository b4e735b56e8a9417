"""A job's worker runs a lone task on its own thread, holding one of the node's runner
slots meanwhile; a task that may time out still goes to a runner, which can be abandoned."""

from __future__ import annotations

import threading

import pytest
from job_support import StartNode

import flowstone as fs

pipeline = fs.Pipeline("worker_thread")
THREADS: dict[str, str] = {}
RELEASE = threading.Event()
HOLDING = threading.Event()


@pipeline.asset
def lone(ctx: fs.Context) -> str:
    THREADS[str(ctx.partition)] = threading.current_thread().name
    return "lone"


@pipeline.asset(timeout=30.0)
def timed(ctx: fs.Context) -> str:
    THREADS[str(ctx.partition)] = threading.current_thread().name
    return "timed"


@pipeline.asset
def holding(ctx: fs.Context) -> str:
    HOLDING.set()
    assert RELEASE.wait(10), "the test never released the asset"
    return "held"


@pipeline.asset
def other(ctx: fs.Context) -> str:
    return "other"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    THREADS.clear()
    RELEASE.clear()
    HOLDING.clear()


def test_a_jobs_lone_asset_runs_on_the_worker_thread(start_node: StartNode) -> None:
    node = start_node(queues={"assets": 2})
    handles = [node.submit(pipeline, "lone", partition=f"p{i}") for i in range(6)]
    assert [handle.wait(30) for handle in handles] == ["lone"] * 6
    assert sorted(THREADS) == [f"p{i}" for i in range(6)]
    assert all(name.startswith("JobWorker") for name in THREADS.values()), THREADS


def test_an_asset_with_a_timeout_still_runs_on_a_runner(start_node: StartNode) -> None:
    node = start_node(queues={"assets": 1})
    assert node.submit(pipeline, "timed", partition="t").wait(30) == "timed"
    assert THREADS["t"].startswith("RunnerActor"), THREADS


def test_node_run_runs_on_a_runner_as_before(start_node: StartNode) -> None:
    node = start_node()
    assert node.run(pipeline, "lone", partition="r") == "lone"
    assert THREADS["r"].startswith("RunnerActor"), THREADS


def test_a_job_on_the_worker_thread_holds_a_runner_slot(start_node: StartNode) -> None:
    node = start_node(queues={"assets": 1}, max_concurrency=1)
    handle = node.submit(pipeline, "holding", partition="h")
    assert HOLDING.wait(10)
    ran: list[str] = []
    caller = threading.Thread(target=lambda: ran.append(node.run(pipeline, "other", partition="o")))
    caller.start()
    try:
        caller.join(0.3)  # bounded: the one runner slot is the job's, so node.run must wait
        assert ran == []
    finally:
        RELEASE.set()
    caller.join(10)
    assert ran == ["other"]
    assert handle.wait(10) == "held"
