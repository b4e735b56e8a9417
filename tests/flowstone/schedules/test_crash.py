"""A node killed with ``kill -9`` between a sensor's poll and its commit loses no trigger
and triggers nothing twice: the cursor stays where it was, and the next poll (on another
node, once the lease runs out) triggers every partition once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from crash_pipelines import ITEMS, crashing

import flowstone as fs
from supervisors.testing import wait_for

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_the_cursor_after_a_kill_9_between_poll_and_commit(sqlite_url: str, tmp_path: Path) -> None:
    fs.start(database_url=sqlite_url).stop()  # migrated before the child starts
    marker = tmp_path / "polled"
    env = {**os.environ, "FS_CRASH_MARKER": str(marker), "PYTHONPATH": str(HERE)}
    child = subprocess.Popen(
        [sys.executable, str(HERE / "crash_pipelines.py"), sqlite_url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(marker.exists, timeout=30.0, message="the child polled")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert marker.read_text() == "polled with None"
    with fs.start(
        database_url=sqlite_url, pipelines=[crashing], queues={"assets": 2}, poll_interval=0.05
    ) as node:
        [before] = node.sensors()
        assert (before.cursor, before.polls) == (None, 0)  # nothing of the killed poll was committed
        wait_for(lambda: node.sensors()[0].polls >= 1, timeout=20.0, message="polled again")  # lease: 3 s
        [after] = node.sensors()
        assert after.cursor == len(ITEMS)
        wait_for(
            lambda: [j.state for j in node.jobs.list(limit=100)] == ["completed"] * len(ITEMS),
            timeout=20.0,
            message="every triggered job completed",
        )
        keys = sorted(j.partition_key for j in node.jobs.list(limit=100))
        assert keys == sorted(fs.partitions.serialize(item) for item in ITEMS)
