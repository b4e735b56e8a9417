"""Benchmark backfill: partitions per second at parallel 1, 2, 4, and memory flat in the count.

Throughput: a trivial asset (``io=fs.io.Memory(max_entries=100)``, so values do not pile
up) is backfilled over 10,000 fresh integer partitions with ``parallel`` 1, 2 and 4 on an
in-memory node; rounds are interleaved and the figure is the median. The baseline,
measured in the same rounds, is a ``concurrent.futures.ThreadPoolExecutor`` with as many
workers mapping the same function over 10,000 items: the cost of handing work to threads
and nothing else.

Memory: the same asset backfilled from a *generator* of 1,000,000 partitions and of
10,000, each in a fresh subprocess that reports ``resource.getrusage(RUSAGE_SELF).ru_maxrss``
at the end; the ratio of the two peaks must stay under 1.5 (partitions are consumed lazily
and nothing is kept per finished partition beyond the node's bounded records). The
memory children run before anything else, because Linux carries the parent's RSS at fork
time into a child's ``ru_maxrss``; ``VmHWM`` (the peak of the child's own address space)
is printed as a cross-check, with the current RSS just before and after the backfill,
which shows what the backfill itself holds on to.

Targets (issue 3): ≥ 3,000 partitions/s at parallel 4; peak RSS ratio < 1.5.
``--quick`` uses 3 rounds and 100,000 partitions instead of 1,000,000 for the memory test.
When a target is missed the script profiles a 10,000-partition backfill at parallel 4
with cProfile (calling thread), unless ``--no-profile``.

Usage::

    .venv/bin/python benchmarks/bench_backfill.py [--quick] [--rounds R] [--big N] [--no-profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

PARTITIONS = 10_000
PARALLEL = (1, 2, 4)
SMALL = 10_000
TARGET_RATE = 3_000.0
TARGET_RSS_RATIO = 1.5


def build_pipeline() -> fs.Pipeline:
    pipeline = fs.Pipeline("bench_backfill")

    @pipeline.asset(io=fs.io.Memory(max_entries=100))
    def trivial(ctx: fs.Context) -> int:
        return 1

    return pipeline


def trivial_call(_item: int) -> int:
    return 1


def start_node() -> fs.Node:
    # In memory whatever FLOWSTONE_DATABASE_URL says; parallel 4 must not be capped.
    return fs.start(name="bench-backfill", database_url=None, max_parallel=max(PARALLEL))


def backfill_rate(node: fs.Node, pipeline: fs.Pipeline, parallel: int, first: int) -> float:
    started = time.perf_counter()
    report = node.backfill(pipeline, "trivial", range(first, first + PARTITIONS), parallel=parallel)
    elapsed = time.perf_counter() - started
    assert report.succeeded == PARTITIONS, report
    return PARTITIONS / elapsed


def pool_rate(parallel: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for _ in pool.map(trivial_call, range(PARTITIONS)):
            pass
    return PARTITIONS / (time.perf_counter() - started)


def throughput(rounds: int) -> dict[int, tuple[float, float, float, float]]:
    """parallel → (median partitions/s, min, max, median pool items/s)."""
    pipeline = build_pipeline()
    rates: dict[int, list[float]] = {p: [] for p in PARALLEL}
    pools: dict[int, list[float]] = {p: [] for p in PARALLEL}
    first = 0
    with start_node() as node:
        backfill_rate(node, pipeline, 4, -PARTITIONS)  # warm-up
        for _ in range(rounds):
            for parallel in PARALLEL:
                rates[parallel].append(backfill_rate(node, pipeline, parallel, first))
                first += PARTITIONS
                pools[parallel].append(pool_rate(parallel))
    return {
        p: (statistics.median(rates[p]), min(rates[p]), max(rates[p]), statistics.median(pools[p]))
        for p in PARALLEL
    }


def proc_status_kib(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB; 0 without /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child(count: int) -> None:
    """Backfill ``count`` partitions from a generator; print seconds, the current RSS before
    the backfill (after the import and the node's start) and after it, and the peak (KiB)."""
    pipeline = build_pipeline()
    with start_node() as node:
        before_kib = proc_status_kib("VmRSS")
        started = time.perf_counter()
        report = node.backfill(pipeline, "trivial", (i for i in range(count)), parallel=4)
        elapsed = time.perf_counter() - started
        after_kib = proc_status_kib("VmRSS")
    assert report.succeeded == count, report
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"{elapsed:.3f} {before_kib} {after_kib} {peak_kib} {proc_status_kib('VmHWM')}")


def peak_rss(count: int) -> tuple[float, int, int, int, int]:
    """Seconds, RSS before and after the backfill, ru_maxrss and VmHWM (KiB), from a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(count)], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]), int(out[3]), int(out[4])


def profile_backfill() -> None:
    pipeline = build_pipeline()
    with start_node() as node:
        backfill_rate(node, pipeline, 4, -PARTITIONS)
        profile = cProfile.Profile()
        profile.enable()
        backfill_rate(node, pipeline, 4, 0)
        profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
    print("\n--- cProfile of a 10,000-partition backfill at parallel 4, calling thread (own time) ---")
    print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds; 100,000 partitions for memory")
    parser.add_argument("--rounds", type=int, default=None, help="throughput rounds (default 5)")
    parser.add_argument("--big", type=int, default=None, help="partitions of the large memory run")
    parser.add_argument("--no-profile", action="store_true", help="do not profile when a target is missed")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child)
        return 0
    rounds = args.rounds or (3 if args.quick else 5)
    big = args.big or (100_000 if args.quick else 1_000_000)
    missed = False

    print(f"flowstone {fs.__version__}, Python {sys.version.split()[0]}, {rounds} rounds (median)\n")
    # The memory children run first: Linux carries the parent's RSS at fork time into a
    # child's ru_maxrss, so they are spawned while this process is still small.
    memory = [(count, *peak_rss(count)) for count in (SMALL, big)]
    print(f"backfill of {PARTITIONS:,} partitions of a trivial asset, in memory")
    print(f"{'parallel':>8} {'partitions/s':>13} {'(min–max)':>17} {'thread pool/s':>14} {'ratio':>7}")
    results = throughput(rounds)
    for parallel, (rate, low, high, pool) in results.items():
        spread = f"({low:,.0f}–{high:,.0f})"
        print(f"{parallel:>8} {rate:>13,.0f} {spread:>17} {pool:>14,.0f} {rate / pool:>6.3f}×")
    rate4 = results[4][0]
    met = rate4 >= TARGET_RATE
    missed |= not met
    print(f"  target parallel=4: ≥ {TARGET_RATE:,.0f}/s → {rate4:,.0f}/s: {'met' if met else 'MISSED'}")

    print("\npeak RSS of a generator backfill (parallel 4), each in a fresh process")
    print(
        f"{'partitions':>12} {'seconds':>8} {'partitions/s':>13} {'ru_maxrss MiB':>14} "
        f"{'VmHWM MiB':>10} {'RSS before':>11} {'RSS after':>10}"
    )
    for count, seconds, before, after, kib, hwm in memory:
        print(
            f"{count:>12,} {seconds:>8.1f} {count / seconds:>13,.0f} {kib / 1024:>14.2f} "
            f"{hwm / 1024:>10.2f} {before / 1024:>11.2f} {after / 1024:>10.2f}"
        )
    small_kib, big_kib = memory[0][4], memory[1][4]
    ratio = big_kib / small_kib
    met = ratio < TARGET_RSS_RATIO
    missed |= not met
    print(
        f"  target: peak RSS {big:,} / {SMALL:,} < {TARGET_RSS_RATIO:g} → {ratio:.2f}: "
        f"{'met' if met else 'MISSED'}"
    )
    if missed and not args.no_profile:
        profile_backfill()
    print(f"\ntargets: {'MISSED' if missed else 'met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
