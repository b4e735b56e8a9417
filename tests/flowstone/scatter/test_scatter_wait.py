"""A scatter asset waits on its barrier as a gate waits on its signal: while its keys run
its materialization is ``waiting`` and no runner is held; the last key to end resumes it,
and it gathers once. On memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import flowstone as fs
from tests.flowstone.gate import Gate


def blocking_pipeline(gate: Gate, keys: int = 3) -> fs.Pipeline:
    pipeline = fs.Pipeline("waiting_scatter")

    @pipeline.asset(
        scatter=fs.Scatter(keys=lambda ctx: range(keys), gather=lambda ctx, rs: sum(v for _, v in rs))
    )
    def fanned(ctx: fs.Context) -> int:
        gate.passes()
        return int(ctx.scatter_key)

    @pipeline.asset
    def unrelated(ctx: fs.Context) -> str:
        return "ran"

    return pipeline


def run_in_thread(node: fs.Node, pipeline: fs.Pipeline, asset: str) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(node.run(pipeline, asset, timeout=30)))
    thread.start()
    return thread, box


def test_the_only_runner_is_free_while_the_keys_run(database: str | None) -> None:
    gate = Gate()
    pipeline = blocking_pipeline(gate)
    with fs.start(database_url=database, max_concurrency=1) as node:
        thread, box = run_in_thread(node, pipeline, "fanned")
        try:
            gate.wait_entered(1)
            # With one runner, this run can only go ahead if the scatter gave its runner back.
            assert node.run(pipeline, "unrelated", timeout=10) == "ran"
        finally:
            gate.open()
            thread.join(30)
        assert box == [0 + 1 + 2]


def test_the_materialization_is_waiting_until_the_last_key_ends_then_gathers_once(
    database: str | None,
) -> None:
    gate = Gate()
    gathered: list[int] = []
    pipeline = fs.Pipeline("waiting_scatter")

    def gather(ctx: fs.Context, results: Any) -> int:
        gathered.append(1)
        return sum(v for _, v in results)

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(4), max_concurrent=2, gather=gather))
    def fanned(ctx: fs.Context) -> int:
        gate.passes()
        return int(ctx.scatter_key)

    events: list[Any] = []
    with fs.start(database_url=database, max_concurrency=2) as node, node.events.subscribe(events.append):
        thread, box = run_in_thread(node, pipeline, "fanned")
        try:
            gate.wait_entered(2)
            assert node.status(pipeline, "fanned").state == "waiting"
            assert gathered == []
        finally:
            gate.open()
            thread.join(30)
        assert box == [6]
        assert gathered == [1]
        assert node.status(pipeline, "fanned").state == "completed"
        [started] = [e for e in events if isinstance(e, fs.events.ScatterStarted)]
        progress = node.scatter_progress(started.run_id, "fanned")
        assert progress is not None
        assert (progress.state, progress.done, progress.running) == ("gathered", 4, 0)
