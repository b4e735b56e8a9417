"""Benchmark routing: a run through a router against the same run through a plain asset.

Two pipelines of the same shape, run on the same node, each run for a fresh partition (so
every asset runs):

- routed: ``orders → choose`` (a router: ``fast | slow``) ``→ fast`` (``slow`` skipped)
  ``→ report`` (``fast`` and ``slow`` optional);
- plain (the baseline, same run): ``orders → choose`` (a plain asset returning ``"fast"``)
  ``→ fast → report``.

The routed run does what routing costs: a decision kept and deleted (``route_decisions``
``"run"``, the default), a skipped asset recorded, a dependant given None. The figure is
the median time per run over the measured runs (after warm-up runs), and the ratio
routed ÷ plain; goal (issue 16): ≤ 1.2×. Measured in memory and on SQLite (a temporary
file), and on SQLite with ``route_decisions="none"`` (no decision written) for context.

Parallel joins (the other half of issue 16): a parallel asset over 2 and over 8 trivial
branches (each its own final asset) against the baseline of the same run, a plain asset
that depends on the same finals (a fan-in the scheduler runs concurrently anyway). The
parallel run pays what a durable join costs: the group's rows, a thread (or job) per
branch, the suspension and the resumer's claim. Median per run and the ratio, in memory
and on SQLite.

Usage::

    .venv/bin/python benchmarks/bench_routing.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

TARGET_RATIO = 1.2


def routed() -> fs.Pipeline:
    p = fs.Pipeline("routed")

    @p.asset
    def orders(ctx: Any) -> list[int]:
        return [1, 2, 3]

    @p.router(branches=("fast", "slow"))
    def choose(ctx: Any, orders: list[int]) -> str:
        return "fast"

    @p.asset(routed_from="choose")
    def fast(ctx: Any, orders: list[int]) -> int:
        return len(orders)

    @p.asset(routed_from="choose")
    def slow(ctx: Any, orders: list[int]) -> int:
        return -len(orders)

    @p.asset(optional=("fast", "slow"))
    def report(ctx: Any, fast: int | None = None, slow: int | None = None) -> int:
        return fast if fast is not None else slow or 0

    return p


def plain() -> fs.Pipeline:
    p = fs.Pipeline("plain")

    @p.asset
    def orders(ctx: Any) -> list[int]:
        return [1, 2, 3]

    @p.asset
    def choose(ctx: Any, orders: list[int]) -> str:
        return "fast"

    @p.asset(depends_on=("orders", "choose"))
    def fast(ctx: Any, orders: list[int]) -> int:
        return len(orders)

    @p.asset
    def report(ctx: Any, fast: int) -> int:
        return fast

    return p


def fanned(branches: int, *, joined: bool) -> fs.Pipeline:
    """``report`` over ``branches`` finals: a parallel asset (``joined``) or a plain fan-in."""
    p = fs.Pipeline(f"{'parallel' if joined else 'fan_in'}_{branches}")
    names = [f"b{i}" for i in range(branches)]
    for name in names:

        def final(ctx: Any) -> int:
            return 1

        final.__name__ = name
        p.asset(final)
    if joined:

        @p.parallel(branches={name: name for name in names})
        def report(ctx: Any, branches: dict[str, fs.BranchResult]) -> int:
            return sum(b.value for b in branches.values())

    else:

        @p.asset(depends_on=names)
        def report(ctx: Any, **finals: int) -> int:
            return sum(finals.values())

    return p


def per_run(node: fs.Node, pipeline: fs.Pipeline, partitions: Iterator[int], runs: int) -> float:
    """Median seconds of one ``node.run`` of ``report`` for a fresh partition."""
    times = []
    for _ in range(runs):
        partition = next(partitions)
        started = time.perf_counter()
        node.run(pipeline, "report", partition=partition)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_parallel(kind: str, branches: int, runs: int, rounds: int) -> tuple[float, float]:
    """(parallel, plain fan-in) medians over the same finals, interleaved in rounds."""
    with started(kind, "run") as node:
        numbers = iter(range(10**9))
        joined, plain_p = fanned(branches, joined=True), fanned(branches, joined=False)
        per_run(node, joined, numbers, 10)  # warm-up
        per_run(node, plain_p, numbers, 10)
        joined_t: list[float] = []
        plain_t: list[float] = []
        for _ in range(rounds):
            joined_t.append(per_run(node, joined, numbers, runs))
            plain_t.append(per_run(node, plain_p, numbers, runs))
        return statistics.median(joined_t), statistics.median(plain_t)


@contextmanager
def started(kind: str, policy: str) -> Iterator[fs.Node]:
    if kind == "memory":
        with fs.start(route_decisions=policy) as node:  # type: ignore[arg-type]
            yield node
        return
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/bench.db"
        with fs.start(database_url=url, route_decisions=policy) as node:  # type: ignore[arg-type]
            yield node


def measure(kind: str, policy: str, runs: int, rounds: int) -> tuple[float, float]:
    """(routed, plain) medians, interleaved in rounds so that drift hits both alike."""
    with started(kind, policy) as node:
        numbers = iter(range(10**9))
        routed_p, plain_p = routed(), plain()
        per_run(node, routed_p, numbers, 20)  # warm-up
        per_run(node, plain_p, numbers, 20)
        routed_t: list[float] = []
        plain_t: list[float] = []
        for _ in range(rounds):
            routed_t.append(per_run(node, routed_p, numbers, runs))
            plain_t.append(per_run(node, plain_p, numbers, runs))
        return statistics.median(routed_t), statistics.median(plain_t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (200 per round, 3 rounds)")
    parser.add_argument("--runs", type=int, default=None, help="runs per round (default 1,000)")
    parser.add_argument("--parallel-only", action="store_true", help="only the parallel joins")
    options = parser.parse_args(argv)
    runs = options.runs or (200 if options.quick else 1_000)
    rounds = 3 if options.quick else 5
    print(
        f"flowstone {fs.__version__}, Python {sys.version.split()[0]}, "
        f"{rounds} rounds of {runs} runs (median)"
    )
    missed = False
    if not options.parallel_only:
        missed = routing(runs, rounds)
    joins(max(runs // 10, 20), rounds)
    return 1 if missed else 0


def joins(runs: int, rounds: int) -> None:
    print(f"\nparallel joins, {rounds} rounds of {runs} runs (median)")
    print(f"{'store, branches':<28} {'parallel':>10} {'fan-in':>10} {'ratio':>7}")
    for kind in ("memory", "sqlite"):
        for branches in (2, 8):
            joined_s, plain_s = measure_parallel(kind, branches, runs, rounds)
            label = f"{kind}, {branches} branches"
            print(f"{label:<28} {joined_s * 1e3:>8.2f}ms {plain_s * 1e3:>8.2f}ms {joined_s / plain_s:>6.2f}×")


def routing(runs: int, rounds: int) -> bool:
    """The routed runs' table; whether the memory target was missed."""
    print(f"{'store':<28} {'routed':>10} {'plain':>10} {'ratio':>7}")
    missed = False
    for kind, policy in (("memory", "run"), ("sqlite", "run"), ("sqlite", "none")):
        routed_s, plain_s = measure(kind, policy, runs, rounds)
        ratio = routed_s / plain_s
        label = f"{kind}, route_decisions={policy!r}"
        print(f"{label:<28} {routed_s * 1e6:>8.1f}µs {plain_s * 1e6:>8.1f}µs {ratio:>6.2f}×")
        if kind == "memory":
            missed = ratio > TARGET_RATIO
    print(f"\ntarget (memory): ≤ {TARGET_RATIO}× — {'MISSED' if missed else 'met'}")
    return missed


if __name__ == "__main__":
    raise SystemExit(main())
