"""``rate=`` and ``concurrency=`` held by four processes on one database (SQLite and
PostgreSQL), and a slot freed after its holder is killed with SIGKILL.

Each worker (``limit_worker.py``) starts its assets under one key and appends the start
times to a file; the assertions read them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import flowstone as fs
from supervisors.testing import wait_for
from tests.flowstone.limits.windows import most_in_a_window

WORKER = Path(__file__).with_name("limit_worker.py")
PROCESSES = 4

pytestmark = pytest.mark.slow


def _start(url: str, mode: str, out: Path, count: int, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, **env}
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, mode, str(out), str(count)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def run_workers(url: str, mode: str, out: Path, count: int, **env: str) -> list[str]:
    """Start four workers, let them go at once, wait for them; their output if one failed."""
    fs.start(database_url=url).stop()  # migrate once, before four processes race to
    workers = [_start(url, mode, out, count, **env) for _ in range(PROCESSES)]
    try:
        wait_for(
            lambda: len(list(out.glob("ready-*"))) == PROCESSES or any(w.poll() is not None for w in workers),
            timeout=60,
            message="the workers started",
        )
        (out / "go").touch()
        outputs = []
        for worker in workers:
            stdout, _ = worker.communicate(timeout=120)
            outputs.append(stdout.decode(errors="replace"))
            assert worker.returncode == 0, stdout.decode(errors="replace")
        return outputs
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()


def lines(out: Path, prefix: str) -> list[str]:
    return [line for path in out.glob(f"{prefix}-*") for line in path.read_text().split()]


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, change in events:
        current += change
        most = max(most, current)
    return most


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
    else:
        yield request.getfixturevalue("postgres_database")


def test_four_processes_never_exceed_the_rate(shared_url: str, tmp_path: Path) -> None:
    limit, per, each = 10, 1.0, 6
    run_workers(shared_url, "rate", tmp_path, each, LIMIT=str(limit), PER=str(per))
    starts = [float(x) for x in lines(tmp_path, "rate")]
    assert len(starts) == PROCESSES * each  # every start happened: none failed for its rate
    assert most_in_a_window(starts, per) <= limit
    span = max(starts) - min(starts)
    # 24 starts at 10/s take 2.3 s at least; far longer would mean a waiting start idled.
    assert (len(starts) - 1) * per / limit <= span <= 2 * (len(starts) - 1) * per / limit + 1.0


def test_four_processes_never_hold_more_than_n_slots(shared_url: str, tmp_path: Path) -> None:
    n, each = 2, 4
    run_workers(shared_url, "slots", tmp_path, each, N=str(n), HOLD="0.1")
    pairs = lines(tmp_path, "slots")
    intervals = [(float(a), float(b)) for a, b in zip(pairs[::2], pairs[1::2], strict=True)]
    assert len(intervals) == PROCESSES * each
    assert most_at_once(intervals) == n  # never more, and the slots were used


def test_four_processes_racing_for_seats_never_hold_more_than_n(shared_url: str, tmp_path: Path) -> None:
    """On the limiter directly: eight threads in four processes; each also checks, while
    holding, that its seat is its own and at most n are held (``limit_worker.py``)."""
    n, each = 3, 25
    run_workers(shared_url, "seats", tmp_path, each, N=str(n))
    pairs = lines(tmp_path, "seats")
    intervals = [(float(a), float(b)) for a, b in zip(pairs[::2], pairs[1::2], strict=True)]
    assert len(intervals) == PROCESSES * 2 * each
    # From a take's answer to its release being sent, the seat is held in the database.
    assert most_at_once(intervals) <= n


def test_a_killed_holders_slot_is_freed_within_rescue_after(shared_url: str, tmp_path: Path) -> None:
    rescue_after = 1.0
    fs.start(database_url=shared_url).stop()
    holder = _start(shared_url, "hold", tmp_path, 1, RESCUE_AFTER=str(rescue_after))
    try:
        wait_for((tmp_path / f"ready-{holder.pid}").exists, timeout=60, message="holder ready")
        (tmp_path / "go").touch()
        wait_for((tmp_path / "holding").exists, timeout=60, message="the holder took the slot")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()  # reaps it and closes its pipe
    killed = time.monotonic()
    p = fs.Pipeline("limits_mp")

    @p.asset(concurrency=fs.Slots("one", 1))
    def held(ctx: Any) -> str:
        return "mine"

    with fs.start(database_url=shared_url, rescue_after=rescue_after) as node:
        assert node.run(p, "held", partition="after") == "mine"
    # Its lease ran out at most rescue_after after its last renewal; a retry follows within
    # rescue_after / 50 (and the node's own start).
    assert time.monotonic() - killed <= rescue_after + 2.0
