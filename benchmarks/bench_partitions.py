"""Benchmark partition sets: ``node.partition_status`` of 100,000 daily partitions on SQLite.

A ``Daily`` asset of 100,000 days gets one record per day (one in a thousand failed),
written straight into a fresh SQLite store, then ``node.partition_status`` is timed over
several rounds; the figure is the median. ``node.partition_status`` reads the summary the
store keeps with every record (``flowstone_partition_states``, migration 0011). The
baseline, measured in the same rounds, is the old path: every record's newest state read
from ``flowstone_materializations`` (``Store.partition_states``) and the overview built
from all of them. The set's own ``len`` and iteration are timed as well, for information.

Target (issue 19): ``partition_status`` of 100,000 partitions ≤ 100 ms on SQLite.
Mappings: a fresh 365-day backfill of a daily asset reading a daily upstream through
``Window(-6, 0)`` (7 values a day; the upstream days are materialized first, by runs of
their own) against the same backfill reading it plainly (the upstream planned in the same
run), on an in-memory node. Target: ≤ 1.3×.

Staleness: ``node.status`` of the last value of a 1,000-asset chain whose first asset's
code changed (so every value of the chain is read and judged), per asset, against the
floor of the two store reads per asset it makes, on an in-memory node. Target ≤ 20 µs.

Usage::

    .venv/bin/python benchmarks/bench_partitions.py [--quick] [--rounds R] [--count N] [--window]

``--window`` measures the window figure alone (the noisiest: run it several times).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import structlog
from sqlalchemy import create_engine, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs
from flowstone._partition_status import partition_status
from flowstone._store.sql.schema import materializations

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

TARGET_MS = 100.0


def build(count: int) -> tuple[fs.Pipeline, fs.partitions.Daily]:
    days = fs.partitions.Daily("1800-01-01", date(1800, 1, 1) + timedelta(days=count - 1))
    pipeline = fs.Pipeline("bench_partitions")

    @pipeline.asset(partitions=days)
    def daily(ctx: fs.Context) -> int:
        return 1

    return pipeline, days


def seed(url: str, days: fs.partitions.Daily) -> None:
    engine = create_engine(url)
    try:
        rows = [
            {
                "pipeline": "bench_partitions",
                "asset": "daily",
                "partition_key": fs.partitions.serialize(day),
                "run_id": "seed",
                "status": "failed" if index % 1000 == 0 else "completed",
                "attempts": 1,
            }
            for index, day in enumerate(days)
        ]
        with engine.begin() as connection:
            connection.execute(insert(materializations), rows)
    finally:
        engine.dispose()


def window_pipelines(round_: int) -> tuple[fs.Pipeline, fs.Pipeline]:
    """A daily ``orders`` read by ``weekly`` through Window(-6, 0), and read plainly."""
    year = fs.partitions.Daily("2025-01-01", "2025-12-31")
    mapped, plain = fs.Pipeline(f"bench_window_{round_}"), fs.Pipeline(f"bench_plain_{round_}")
    for pipeline, deps in ((mapped, {"orders": fs.partitions.Window(start=-6, end=0)}), (plain, None)):

        @pipeline.asset(partitions=year)
        def orders(ctx: fs.Context) -> int:
            return 1

        @pipeline.asset(partitions=year, deps=deps)
        def weekly(ctx: fs.Context, orders: object) -> int:
            return 1

    return mapped, plain


def bench_window(rounds: int) -> tuple[float, float]:
    """Median seconds of a fresh 365-day backfill of ``weekly``, mapped and plain."""
    mapped_s: list[float] = []
    plain_s: list[float] = []
    with fs.start() as node:
        for round_ in range(rounds):
            mapped, plain = window_pipelines(round_)
            plain_s.append(timed(lambda p=plain: node.backfill(p, "weekly")) / 1000)  # type: ignore[misc]
            mapped_s.append(timed(lambda p=mapped: node.backfill(p, "weekly")) / 1000)  # type: ignore[misc]
    return statistics.median(mapped_s), statistics.median(plain_s)


def chain(length: int, version: str) -> fs.Pipeline:
    """``a0 <- a1 <- ... <- a{length-1}``, ``a0`` at ``version``."""
    pipeline = fs.Pipeline("bench_stale_chain")

    def first(ctx: fs.Context) -> int:
        return 0

    first.__name__ = "a0"
    pipeline.asset(code_version=version)(first)
    for n in range(1, length):

        def step(ctx: fs.Context, **deps: int) -> int:
            return 1

        step.__name__ = f"a{n}"
        pipeline.asset(depends_on=[f"a{n - 1}"])(step)
    return pipeline


def bench_staleness(rounds: int, length: int = 1000) -> tuple[float, float]:
    """Median µs per asset of the staleness check of a 1,000-asset chain's last value
    (every value read: ``a0``'s code changed), against the floor of the two store reads
    per asset it makes (the record and the lineage edges), on an in-memory node."""
    before = chain(length, "1")
    ours: list[float] = []
    floor: list[float] = []
    with fs.start() as node:
        node.run(before, f"a{length - 1}")
        after = chain(length, "2")
        store = node._store

        def reads() -> None:
            for n in range(length):
                store.latest(after.name, f"a{n}", "null")
                store.upstream_versions(after.name, f"a{n}", "null")

        for _ in range(rounds):
            floor.append(timed(reads) * 1000 / length)
            ours.append(timed(lambda: node.status(after, f"a{length - 1}")) * 1000 / length)
        assert node.status(after, f"a{length - 1}").stale
        del before
    return statistics.median(ours), statistics.median(floor)


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--window", action="store_true", help="the Window(-6, 0) figure alone")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 9)
    if args.window:
        return report_window(rounds)
    pipeline, days = build(args.count)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        with fs.start(database_url=url) as node:
            seed(url, days)
            store = node._store
            ours: list[float] = []
            floor: list[float] = []
            listing: list[float] = []
            for _ in range(rounds):  # interleaved, so noise hits both alike
                floor.append(
                    timed(
                        lambda: partition_status(
                            "daily", days, store.partition_states("bench_partitions", "daily")
                        )
                    )
                )
                ours.append(timed(lambda: node.partition_status(pipeline, "daily")))
                listing.append(timed(lambda: (len(days), sum(1 for _ in days))))
            status = node.partition_status(pipeline, "daily")
    assert status.counts == {
        "completed": args.count - (args.count + 999) // 1000,
        "failed": (args.count + 999) // 1000,
    }
    median, base = statistics.median(ours), statistics.median(floor)
    met = median <= TARGET_MS
    print(f"partition sets, {args.count:,} daily partitions on SQLite, {rounds} rounds (medians)")
    print(f"{'metric':<44} {'ours':>10} {'baseline':>10} {'ratio':>7} {'target':>10} met")
    print(
        f"{'partition_status (baseline: the old path)':<44} {median:>8.1f}ms {base:>8.1f}ms "
        f"{median / base:>7.2f} "
        f"{'≤ 100 ms':>10} {'yes' if met else 'NO'}"
    )
    print(f"{'len + iterate the Daily set (information)':<44} {statistics.median(listing):>8.1f}ms")
    stale_us, stale_floor = bench_staleness(rounds)
    stale_met = stale_us <= 20.0
    print(
        f"{'staleness check per asset, 1,000-asset chain':<44} {stale_us:>8.1f}µs {stale_floor:>8.1f}µs "
        f"{stale_us / stale_floor:>7.2f} {'≤ 20 µs':>10} {'yes' if stale_met else 'NO'}"
    )
    window_failed = report_window(rounds)
    return 0 if met and not window_failed and stale_met else 1


def report_window(rounds: int) -> int:
    """Print the window figure; 1 when its target is missed."""
    window, plain = bench_window(rounds)
    window_met = window / plain <= 1.3
    print(
        f"{'365-day backfill, Window(-6, 0) vs identity':<44} {window * 1000:>8.0f}ms {plain * 1000:>8.0f}ms "
        f"{window / plain:>7.2f} {'≤ 1.3×':>10} {'yes' if window_met else 'NO'}"
    )
    return 0 if window_met else 1


if __name__ == "__main__":
    raise SystemExit(main())
