"""A scatter survives ``kill -9``: finished keys are not run again and it gathers once;
two processes share one scatter. On SQLite and PostgreSQL, in real processes."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from supervisors.testing import wait_for

ROOT = Path(__file__).resolve().parents[3]
KEYS = 40

CHILD = textwrap.dedent(
    """
    import os, sys, threading
    import flowstone as fs

    LOG = sys.argv[2]
    pipeline = fs.Pipeline("durable")

    def note(line):
        with open(LOG, "a") as f:
            f.write(line + "\\n")

    def gather(ctx, results):
        note("gather")
        return sum(v for _, v in results)

    @pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(KEYS), max_concurrent=2, gather=gather))
    def fanout(ctx):
        note(str(ctx.scatter_key))
        if os.environ.get("BLOCK_FROM") and ctx.scatter_key >= int(os.environ["BLOCK_FROM"]):
            threading.Event().wait()  # until the test kills this process
        return ctx.scatter_key

    with fs.start(database_url=sys.argv[1], max_concurrency=2, scatter_lease=1.0) as node:
        print("VALUE", node.run(pipeline, "fanout"), flush=True)
    """
).replace("KEYS", str(KEYS))


def executions(log: Path) -> collections.Counter[str]:
    return collections.Counter(log.read_text().split()) if log.exists() else collections.Counter()


def start_child(script: Path, url: str, log: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), url, str(log)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def done_keys(url: str) -> set[int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT position FROM flowstone_scatter_units WHERE state = 'done'")
            )
            return {int(row[0]) for row in rows}
    finally:
        engine.dispose()


def value_of(child: subprocess.Popen[str]) -> Any:
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0, out
    [line] = [line for line in out.splitlines() if line.startswith("VALUE ")]
    return int(line.split()[1])


@pytest.mark.slow
def test_kill_9_mid_scatter_then_restart_runs_only_the_rest_and_gathers_once(
    database_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    log = tmp_path / "executions.log"
    first = start_child(script, database_url, log, BLOCK_FROM="10")
    try:
        wait_for(lambda: sum(executions(log).values()) >= 12, timeout=60, message="12 keys started")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
    finished = done_keys(database_url)
    assert finished == set(range(10))  # the two blocked keys never finished
    second = start_child(script, database_url, log)
    assert value_of(second) == sum(range(KEYS))
    counts = executions(log)
    assert counts["gather"] == 1
    for key in finished:
        assert counts[str(key)] == 1, f"finished key {key} ran again"
    assert all(counts[str(key)] >= 1 for key in range(KEYS))
    assert sum(counts[str(key)] for key in range(KEYS)) == KEYS + 2  # only the two in flight twice


@pytest.mark.slow
@pytest.mark.parametrize("processes", [2, 3])
def test_processes_share_one_scatter_and_gather_once(
    database_url: str, tmp_path: Path, processes: int
) -> None:
    """Each process's run waits on the one barrier; all end with the value, whichever
    process resumed them (a run whose record is not the latest one of the asset included)."""
    script = tmp_path / "child.py"
    script.write_text(CHILD.replace("max_concurrent=2", "max_concurrent=4"))
    log = tmp_path / "executions.log"
    first = start_child(script, database_url, log)
    try:
        wait_for(lambda: sum(executions(log).values()) >= 1, timeout=60, message="the first key started")
        others = [start_child(script, database_url, log) for _ in range(processes - 1)]
        assert [value_of(other) for other in others] == [sum(range(KEYS))] * (processes - 1)
    finally:
        value = value_of(first)
    assert value == sum(range(KEYS))
    counts = executions(log)
    assert counts["gather"] == 1
    assert all(counts[str(key)] == 1 for key in range(KEYS))
