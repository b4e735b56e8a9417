"""A runner that dies mid-message fails its run; the pool watches each runner once.

Issue 22: the scheduler no longer puts a monitor on its runner for every message (a
monitor and its removal cost as much as the rest of an in-memory dispatch); the pool keeps
one per runner for the runner's life, and tells whoever's message it holds if it ends.
"""

from __future__ import annotations

from typing import Any

import pytest

import flowstone as fs
from flowstone._execution import runner as runner_module


def _chain(name: str) -> fs.Pipeline:
    pipeline = fs.Pipeline(name)

    @pipeline.asset()
    def first(ctx: fs.Context) -> int:
        return 1

    @pipeline.asset()
    def second(ctx: fs.Context, first: int) -> int:
        return first + 1

    return pipeline


def _pool(node: fs.Node) -> Any:
    return node._services.pool  # the pool's own bookkeeping is what is tested


@pytest.mark.timeout(30)
def test_a_runner_that_crashes_mid_message_fails_the_run_instead_of_hanging(
    node: fs.Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = _chain("watch_crash")
    node.run(pipeline, "second", partition="before")

    def crash(task: Any, services: Any) -> Any:
        raise RuntimeError("the runner itself broke")  # outside the user-code boundary

    monkeypatch.setattr(runner_module, "attempt", crash)
    with pytest.raises(fs.MaterializationError, match="runner executing it stopped"):
        node.run(pipeline, "second", partition="crash")
    monkeypatch.undo()
    # The restarted runners are watched afresh: the next run works and is not misreported.
    assert node.run(pipeline, "second", partition="after") == 2


def test_the_pool_keeps_one_watch_per_live_runner(node: fs.Node) -> None:
    pipeline = _chain("watch_count")
    for partition in range(20):
        node.run(pipeline, "second", partition=str(partition))
    watched = _pool(node)._watches
    assert 1 <= len(watched) <= _pool(node).size  # one per runner used, not one per message
