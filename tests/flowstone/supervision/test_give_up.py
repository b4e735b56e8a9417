"""A node whose root supervisor gives up says so and acts (``fs.start(on_give_up=...)``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import flowstone as fs
from flowstone._node.give_up import GIVE_UP_EXIT_CODE
from supervisors.testing import wait_for

#: The root allows 10 restarts in 60 s (flowstone/_node/assembly.py): one more gives up.
CRASHES = 11


def exhaust_root(node: fs.Node) -> None:
    """Crash the registry (a child of the root) until the root's intensity is exceeded."""
    directory = node._directory
    for _ in range(CRASHES):
        registry = wait_for(lambda: directory.lookup("registry"), message="a registry")
        registry.tell("not a message it knows")  # a tell handler's TypeError crashes it
        wait_for(lambda r=registry: not r.is_alive(), message="the crash")


def test_stop_ends_the_node_reports_it_and_fails_runs_clearly(sales: fs.Pipeline) -> None:
    node = fs.start(max_concurrency=2)
    events: list[Any] = []
    gave_up = threading.Event()

    def listen(event: Any) -> None:
        if isinstance(event, fs.events.NodeGaveUp):
            events.append(event)
            gave_up.set()

    node.events.subscribe(listen)
    try:
        assert node.run(sales, "total") == 30
        exhaust_root(node)
        assert gave_up.wait(10.0)
        assert not node.is_alive()
        (event,) = events
        assert (event.node, event.action) == (node.id, "stop")
        assert event.last_exits
        assert all("registry" in line or "lineage" in line or "runners" in line for line in event.last_exits)
        health = node.health()
        assert health.status == "down"
        assert "gave up" in health.checks["supervision"].detail
        with pytest.raises(fs.FlowStoneError, match="is down"):
            node.run(sales, "total", force=True)
    finally:
        node.stop()


def test_a_stop_asked_for_is_no_give_up() -> None:
    node = fs.start(on_give_up="exit")  # would end this process if a stop counted
    node.stop()
    assert node._give_up.gave_up is None
    assert not node.is_alive()


SCRIPT = textwrap.dedent(
    """
    import sys, threading
    sys.path.insert(0, {tests!r})
    import flowstone as fs
    from test_give_up import exhaust_root

    node = fs.start(on_give_up="exit", max_concurrency=1)
    exhaust_root(node)
    threading.Event().wait(30)  # the give-up ends the process before this returns
    sys.exit(0)
    """
)


def test_exit_ends_the_process_with_a_non_zero_status_after_a_clean_stop() -> None:
    here = str(Path(__file__).resolve().parent)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(tests=here)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == GIVE_UP_EXIT_CODE, result.stderr[-2000:]
    assert "node.gave_up" in result.stdout + result.stderr
