"""A process starting assets under one rate or slots key, for the cross-process tests and
``benchmarks/bench_limits.py``: ``python limit_worker.py URL MODE OUT COUNT``.

MODE ``rate``: ``COUNT`` starts of an asset with ``fs.Rate(LIMIT, per=PER, key="crm")``,
each appending its start time to ``OUT/rate-<pid>``. MODE ``slots``: ``COUNT``
materializations with ``fs.Slots("wh", N)`` holding for ``HOLD`` seconds, each appending
``start end`` to ``OUT/slots-<pid>``. MODE ``hold``: one materialization with
``fs.Slots("one", 1)`` that writes ``OUT/holding`` and then blocks (to be killed).
Settings come from the environment (``LIMIT``, ``PER``, ``N``, ``HOLD``, ``RESCUE_AFTER``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import flowstone as fs


def _append(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(line + "\n")


def main(url: str, mode: str, out: str, count: int) -> None:
    folder = Path(out)
    pid = os.getpid()
    limit, per = int(os.environ.get("LIMIT", "5")), float(os.environ.get("PER", "0.5"))
    n, hold = int(os.environ.get("N", "2")), float(os.environ.get("HOLD", "0.1"))
    p = fs.Pipeline("limits_mp")

    @p.asset(rate=fs.Rate(limit, per=per, key="crm"))
    def call(ctx: Any) -> float:
        now = time.time()
        _append(folder / f"rate-{pid}", repr(now))
        return now

    @p.asset(concurrency=fs.Slots("wh", n))
    def load(ctx: Any) -> float:
        start = time.time()
        threading.Event().wait(hold)
        _append(folder / f"slots-{pid}", f"{start!r} {time.time()!r}")
        return start

    @p.asset(concurrency=fs.Slots("one", 1))
    def held(ctx: Any) -> None:
        (folder / "holding").write_text(str(pid))
        threading.Event().wait(3600)

    rescue = float(os.environ.get("RESCUE_AFTER", "60"))
    with fs.start(database_url=url, rescue_after=rescue, max_concurrency=4) as node:
        (folder / f"ready-{pid}").touch()
        while not (folder / "go").exists():  # start together: the test touches go
            threading.Event().wait(0.01)
        asset = {"rate": "call", "slots": "load", "hold": "held"}[mode]
        keys = [f"{pid}-{i}" for i in range(count)]
        node.backfill(p, asset, keys, parallel=4, timeout=600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
