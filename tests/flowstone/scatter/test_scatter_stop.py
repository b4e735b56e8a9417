"""A node that stops mid-scatter leaves its asset waiting on the barrier (not cancelled, not
failed): a node started again on the database carries the scatter on and gathers once."""

from __future__ import annotations

import threading
from pathlib import Path

import flowstone as fs
from supervisors.testing import wait_for


def test_a_stop_mid_scatter_is_no_cancellation_and_a_restart_finishes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    entered, proceed = threading.Event(), threading.Event()
    runs: list[int] = []
    pipeline = fs.Pipeline("stopping_scatter")

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(4), max_concurrent=1))
    def fanned(ctx: fs.Context) -> int:
        runs.append(ctx.scatter_key)
        if ctx.scatter_key == 1 and not proceed.is_set():
            entered.set()
            proceed.wait(30)  # until the node has stopped: this key is abandoned to its lease
        return int(ctx.scatter_key)

    errors: list[BaseException] = []
    node = fs.start(database_url=url, max_concurrency=1, shutdown_grace=0.2, scatter_lease=0.5)

    def run() -> None:
        try:
            node.run(pipeline, "fanned")
        except fs.FlowStoneError as exc:
            errors.append(exc)

    caller = threading.Thread(target=run)
    caller.start()
    try:
        assert entered.wait(10)
        node.stop()
    finally:
        proceed.set()
        caller.join(10)
    wait_for(
        lambda: not any(t.name.startswith("scatter-") for t in threading.enumerate()),
        timeout=10,
        message="the abandoned key's threads ended",
    )
    [error] = errors
    assert "stays waiting" in str(error)
    with fs.start(database_url=url, max_concurrency=2, scatter_lease=0.5) as again:
        assert again.status(pipeline, "fanned").state == "waiting"  # not cancelled, not failed
        assert again.run(pipeline, "fanned") == [0, 1, 2, 3]
    assert runs.count(0) == 1  # finished before the stop: not run again
    assert sorted(set(runs)) == [0, 1, 2, 3]
