"""Benchmark process children: a warm ask, and the overhead of an isolated asset.

1. **ask**: an ``ask`` round trip to a warm ``ChildSpec(..., isolation="process")`` child
   (the proxy thread, a pipe, JSON both ways, the child process's handler) against the
   same echo as a thread child under the same supervisor, measured in the same run,
   alternating blocks. Goal (issue 17): the process child ≤ 10× the thread child.
2. **isolated asset**: ``node.run`` of a trivial asset with ``isolation="process"`` (a
   warm worker: module imported, codec both ways) against the same asset on a runner
   thread, on one in-memory node, alternating; overhead = median(process) −
   median(thread) per materialization. Goal: ≤ 2 ms.
3. **restart**: a process child's crash-to-running time (``os._exit`` in the child, the
   supervisor starting a fresh process), for context.

Usage::

    .venv/bin/python benchmarks/bench_process_children.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs
from supervisors import Actor, ChildSpec, ProcessExitError, Supervisor
from supervisors._process import default_context
from supervisors.testing import wait_until_restarted

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

TARGET_ASK_RATIO = 10.0
TARGET_ISOLATED_MS = 2.0


class ThreadEcho(Actor):
    def on_receive(self, message: Any) -> Any:
        return message


def echo_target() -> Callable[[Any], Any]:
    """The process child's start function (called in the child process)."""

    def echo(message: Any) -> Any:
        if message == "exit":
            os._exit(1)
        return message

    return echo


pipeline = fs.Pipeline("bench_isolated")


@pipeline.asset(isolation="process")
def isolated(ctx: fs.Context) -> int:
    return 1


@pipeline.asset(isolation="thread")
def threaded(ctx: fs.Context) -> int:
    return 1


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Durations of ``count`` calls, in µs, after a short warm-up."""
    for _ in range(10):
        call()
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def bench_ask(rounds: int, asks: int) -> tuple[float, float]:
    sup = Supervisor.start(
        [ChildSpec("thread", ThreadEcho.start), ChildSpec("process", echo_target, isolation="process")],
        name="bench",
    )
    try:
        thread, process = sup.whereis("thread"), sup.whereis("process")
        medians: dict[str, list[float]] = {"thread": [], "process": []}
        for index in range(rounds):
            order = (("thread", thread), ("process", process))
            for side, ref in order if index % 2 == 0 else reversed(order):
                medians[side].append(statistics.median(timed(lambda r=ref: r.ask("ping"), asks)))
    finally:
        sup.stop()
    return statistics.median(medians["thread"]), statistics.median(medians["process"])


def bench_isolated(rounds: int, runs: int) -> tuple[float, float]:
    medians: dict[str, list[float]] = {"threaded": [], "isolated": []}
    with fs.start(max_concurrency=2) as node:
        for index in range(rounds):
            sides = ("threaded", "isolated") if index % 2 == 0 else ("isolated", "threaded")
            for asset in sides:
                samples = timed(lambda a=asset: node.run(pipeline, a, force=True), runs)
                medians[asset].append(statistics.median(samples))
    return statistics.median(medians["threaded"]), statistics.median(medians["isolated"])


def bench_restart(restarts: int) -> float:
    sup = Supervisor.start(
        [ChildSpec("process", echo_target, isolation="process")], max_restarts=restarts + 5, max_seconds=600
    )
    try:
        samples = []
        for _ in range(restarts):
            ref = sup.whereis("process")
            start = time.perf_counter()
            with contextlib.suppress(ProcessExitError):
                ref.ask("exit")
            wait_until_restarted(sup, "process", previous=ref, timeout=30)
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        sup.stop()
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and samples")
    args = parser.parse_args(argv)
    ask_rounds, asks, iso_rounds, runs, restarts = (
        (6, 300, 4, 100, 10) if args.quick else (20, 1000, 10, 300, 30)
    )

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, context {default_context()}")
    thread_us, process_us = bench_ask(ask_rounds, asks)
    ratio = process_us / thread_us
    ask_ok = ratio <= TARGET_ASK_RATIO
    print(f"ask, thread child:   median {thread_us:8.1f} µs")
    print(f"ask, process child:  median {process_us:8.1f} µs")
    print(f"ratio process/thread: {ratio:.2f} (goal ≤ {TARGET_ASK_RATIO:g}): {'met' if ask_ok else 'MISSED'}")

    threaded_us, isolated_us = bench_isolated(iso_rounds, runs)
    overhead_ms = (isolated_us - threaded_us) / 1000
    iso_ok = overhead_ms <= TARGET_ISOLATED_MS
    print(f"node.run, thread asset:   median {threaded_us / 1000:7.3f} ms")
    print(f"node.run, isolated asset: median {isolated_us / 1000:7.3f} ms")
    print(
        f"isolated overhead per materialization: {overhead_ms:.3f} ms "
        f"(goal ≤ {TARGET_ISOLATED_MS:g} ms): {'met' if iso_ok else 'MISSED'}"
    )
    print(f"process child crash → running again: median {bench_restart(restarts):.1f} ms")
    return 0 if ask_ok and iso_ok else 1


if __name__ == "__main__":
    sys.exit(main())
