"""Issue 16, parallel branches: with a database, a process that dies between its
branches' end and the join is resumed by a later run: the branches that ended are not
run again, and the join runs once."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import flowstone as fs

HERE = Path(__file__).resolve().parent


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request: pytest.FixtureRequest) -> str:
    found: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    return found


def lines(counts: Path, what: str) -> int:
    path = counts / what
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_crash_between_branch_end_and_join_joins_once_in_the_next_run(
    durable_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "COUNTS": str(tmp_path), "DATABASE_URL": durable_url, "CRASH_JOIN": "1"}
    crashed = subprocess.run(
        [sys.executable, str(HERE / "crash_pipeline.py")],
        env=env,
        timeout=120,
        capture_output=True,
        check=False,
    )
    assert crashed.returncode == 17, crashed.stderr.decode()[-2000:]
    assert (lines(tmp_path, "eu"), lines(tmp_path, "us"), lines(tmp_path, "join")) == (1, 1, 0)

    monkeypatch.setenv("COUNTS", str(tmp_path))
    from crash_pipeline import pipeline

    with fs.start(database_url=durable_url, wait_tick=0.02) as node:
        assert node.status(pipeline, "reports").state != "completed"
        value = node.run(pipeline, "reports", timeout=30)
    assert value == {"eu": (True, 12, None), "us": (True, 3, None)}
    # Neither branch ran again, and the join ran once.
    assert (lines(tmp_path, "eu"), lines(tmp_path, "us"), lines(tmp_path, "join")) == (1, 1, 1)


def test_a_branch_cut_short_by_a_node_stop_is_run_by_the_next_run(durable_url: str) -> None:
    started = threading.Event()
    release = threading.Event()
    calls: list[str] = []
    p = fs.Pipeline("stopped_mid_way")

    @p.asset
    def quick(ctx: fs.Context) -> int:
        calls.append("quick")
        return 1

    @p.asset
    def slow(ctx: fs.Context) -> int:
        calls.append("slow")
        if calls.count("slow") == 1:  # the first run: blocks until the node has stopped
            started.set()
            release.wait(10)
        return 2

    @p.parallel(branches={"quick": "quick", "slow": "slow"})
    def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        return int(branches["quick"].value) + int(branches["slow"].value)

    node = fs.start(database_url=durable_url, wait_tick=0.02, shutdown_grace=0.5)
    runner = threading.Thread(target=lambda: _run_quietly(node, p))
    runner.start()
    assert started.wait(10)
    node.stop()  # the slow branch's asset is abandoned after the grace; its branch records nothing
    release.set()
    runner.join(30)
    with fs.start(database_url=durable_url, wait_tick=0.02) as again:
        assert again.status(p, "joined").state == "waiting"  # not failed: it was cut short
        assert again.run(p, "joined", timeout=30) == 3


def _run_quietly(node: fs.Node, pipeline: fs.Pipeline) -> None:
    with contextlib.suppress(Exception):  # the node stops under it: that is the test
        node.run(pipeline, "joined", timeout=30)
