"""A partition run with a ``timeout`` (a backfill's) is timed from when its first task is
sent to a runner: runs started ahead of their turn do not time out while they wait in the
scheduler's queue behind one that hangs (``parallel=1``: one runner for all of them)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import flowstone as fs
from flowstone import partitions
from flowstone._execution.scheduler import PartitionRun, Scheduler
from flowstone._ids import new_id

TIMEOUT = 0.5


@pytest.fixture
def node() -> Iterator[fs.Node]:
    node = fs.start(max_concurrency=2)
    try:
        yield node
    finally:
        node.stop()


def test_runs_queued_behind_a_hanging_one_run_after_it_times_out(node: fs.Node) -> None:
    release = threading.Event()
    pipeline = fs.Pipeline("clocks")

    @pipeline.asset
    def work(ctx: fs.Context) -> str:
        if ctx.partition == "hang":
            release.wait(30)
        return f"value {ctx.partition}"

    scheduler = Scheduler(pipeline, node._services, max_runners=1)
    runs = {}
    for name in ("hang", "b1", "b2", "b3"):  # all started at once, as a backfill starts them
        run = PartitionRun(new_id(), name, partitions.serialize(name), "work", timeout=TIMEOUT)
        scheduler.begin(run, ["work"], {"timeout": TIMEOUT})
        runs[name] = run
    try:
        finished: list[PartitionRun] = []
        while scheduler.active:
            finished += scheduler.wait(timeout=10)
    finally:
        release.set()
    outcome = {run.partition: ("timed out" if run.timed_out else run.error or run.value) for run in finished}
    # Each queued run waited about TIMEOUT for the hanging one: timed from its start, all
    # would have timed out with it.
    assert outcome == {"hang": "timed out", "b1": "value b1", "b2": "value b2", "b3": "value b3"}


def test_a_run_that_hangs_itself_still_times_out_once_sent(node: fs.Node) -> None:
    release = threading.Event()
    pipeline = fs.Pipeline("clocks_alone")

    @pipeline.asset
    def stuck(ctx: fs.Context) -> str:
        release.wait(30)
        return "late"

    scheduler = Scheduler(pipeline, node._services, max_runners=1)
    run = PartitionRun(new_id(), "p", partitions.serialize("p"), "stuck", timeout=TIMEOUT)
    scheduler.begin(run, ["stuck"], {"timeout": TIMEOUT})
    try:
        finished = scheduler.wait(timeout=10)
    finally:
        release.set()
    assert [r.timed_out for r in finished] == [True]
