"""A process starting assets under one rate or slots key, for the cross-process tests and
``benchmarks/bench_limits.py``: ``python limit_worker.py URL MODE OUT COUNT``.

MODE ``rate``: ``COUNT`` starts of an asset with ``fs.Rate(LIMIT, per=PER, key="crm")``,
each appending its start time to ``OUT/rate-<pid>``. MODE ``slots``: ``COUNT``
materializations with ``fs.Slots("wh", N)`` holding for ``HOLD`` seconds, each appending
``start end`` to ``OUT/slots-<pid>``. MODE ``hold``: one materialization with
``fs.Slots("one", 1)`` that writes ``OUT/holding`` and then blocks (to be killed). MODE
``seats``: two threads taking and releasing ``N`` seats of ``slots:race`` on the store's
limiter directly, ``COUNT`` holds each, appending ``start end`` (from the take's answer to
the release sent) to ``OUT/seats-<pid>``; while holding, each checks in the database that
its seat is still its own and at most ``N`` are held (else the process fails).
Settings come from the environment (``LIMIT``, ``PER``, ``N``, ``HOLD``, ``RESCUE_AFTER``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import flowstone as fs
from flowstone._store.sql.schema import limit_seats


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
        if mode == "seats":
            race_for_seats(node._store, n, count, folder / f"seats-{pid}")  # type: ignore[attr-defined]
            return
        asset = {"rate": "call", "slots": "load", "hold": "held"}[mode]
        keys = [f"{pid}-{i}" for i in range(count)]
        node.backfill(p, asset, keys, parallel=4, timeout=600)


def race_for_seats(store: Any, n: int, count: int, out: Path) -> None:
    """Two threads, ``count`` holds each, of ``slots:race`` on ``store``'s limiter."""
    seats = limit_seats
    errors: list[BaseException] = []
    intervals: list[str] = []

    def race(index: int) -> None:
        done = tries = 0
        try:
            while done < count:
                tries += 1
                holder, now = f"{os.getpid()}-{index}-{tries}", time.time()
                if store.limits.take_slot("slots:race", n, holder, f"{os.getpid()}", now, now + 60) > 0:
                    continue
                start = time.time()
                with store.engines.read.connect() as c:
                    mine = c.execute(select(seats.c.seat).where(seats.c.holder == holder)).all()
                    live = c.execute(
                        select(func.count()).where(
                            seats.c.key == "slots:race",
                            seats.c.holder.is_not(None),
                            seats.c.expires_at >= now,
                        )
                    ).scalar_one()
                if len(mine) != 1 or live > n:
                    raise AssertionError(f"{holder}: seats {mine}, {live} live holders of {n}")
                intervals.append(f"{start!r} {time.time()!r}")
                store.limits.release_slot("slots:race", holder)
                done += 1
        except BaseException as exc:  # noqa: BLE001 - raised again by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.write_text("\n".join(intervals) + "\n")
    if errors:
        raise errors[0]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
