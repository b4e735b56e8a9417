"""Benchmark an ``ask`` round trip to a supervised child against a bare pykka actor.

A supervised child is a ``supervisors.Actor`` under a ``Supervisor``; messages go
straight to its inbox, so the target is no measurable overhead: at most 1.2x the median of
a bare ``pykka.ThreadingActor``, measured in the same run.

How: many rounds; each round starts a fresh supervised child (a new supervisor) and a
fresh bare actor, one after the other in alternating order with only one of them alive at
a time, and times a block of asks to each. Cross-CPU wake-ups on a small VM are bimodal
(about 22 µs when the actor's thread runs on the caller's CPU, about 50 µs when it
does not) and the kernel picks per thread, so a single long-lived pair would compare two
placements, not two libraries. The figure per side is the mean over rounds of each
round's median. The same rounds run twice: on every CPU (as deployed) and with the
process pinned to one CPU (no placement effects: the library's own overhead).
``whereis + ask`` (look the child up on every call) is shown without a target.

Usage::

    .venv/bin/python benchmarks/bench_supervisor_ask.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pykka
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from supervisors import Actor, ChildSpec, Supervisor

structlog.configure(logger_factory=structlog.ReturnLoggerFactory())

TARGET_RATIO = 1.2


class SupervisedEcho(Actor):
    """A supervised worker that answers every message with itself."""

    def on_receive(self, message: Any) -> Any:
        return message


class BareEcho(pykka.ThreadingActor):
    """The same worker on bare pykka."""

    def on_receive(self, message: Any) -> Any:
        return message


def time_asks(ask: Callable[[], object], count: int) -> list[float]:
    """Durations of ``count`` calls of ``ask``, in µs, after a short warm-up."""
    for _ in range(20):
        ask()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        ask()
        samples.append((clock() - start) / 1000)
    return samples


def supervised_round(asks: int) -> tuple[list[float], list[float]]:
    sup = Supervisor.start([ChildSpec("echo", SupervisedEcho.start)], name="bench")
    try:
        child = sup.whereis("echo")
        direct = time_asks(lambda: child.ask("ping"), asks)
        looked_up = time_asks(lambda: sup.whereis("echo").ask("ping"), asks // 4)
    finally:
        sup.stop()
    return direct, looked_up


def bare_round(asks: int) -> list[float]:
    ref = BareEcho.start()
    try:
        return time_asks(lambda: ref.ask("ping"), asks)
    finally:
        ref.stop()


@contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """Run the block with this thread (and every thread it starts) on ``cpus``."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


class Pass:
    """The samples of one pass: per-round medians and all samples, per side."""

    def __init__(self) -> None:
        self.rounds: dict[str, list[float]] = {"supervised": [], "bare": [], "whereis": []}
        self.samples: dict[str, list[float]] = {"supervised": [], "bare": [], "whereis": []}

    def add(self, side: str, samples: list[float]) -> None:
        self.rounds[side].append(statistics.median(samples))
        self.samples[side].extend(samples)

    def median(self, side: str) -> float:
        return statistics.mean(self.rounds[side])

    def p99(self, side: str) -> float:
        return statistics.quantiles(self.samples[side], n=100)[98]


def run_pass(rounds: int, asks: int) -> Pass:
    result = Pass()
    for index in range(rounds):
        for side in ("supervised", "bare") if index % 2 == 0 else ("bare", "supervised"):
            if side == "bare":
                result.add("bare", bare_round(asks))
            else:
                direct, looked_up = supervised_round(asks)
                result.add("supervised", direct)
                result.add("whereis", looked_up)
    return result


WIDTHS = (26, 12, 10, 8, 9)


def row(*cells: str) -> str:
    """One table line: metric, supervised, bare, ratio, target, met."""
    *numbers, met = cells
    line = numbers[0].ljust(WIDTHS[0])
    line += "".join(cell.rjust(width) for cell, width in zip(numbers[1:], WIDTHS[1:], strict=True))
    return f"{line}  {met}".rstrip()


def main(argv: list[str] | None = None) -> int:
    """Print median and p99 µs per ask, supervised and bare, and their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 rounds of 500 asks, not 60 of 1,000")
    args = parser.parse_args(argv)
    rounds, asks = (20, 500) if args.quick else (60, 1_000)

    passes = {"all CPUs": run_pass(rounds, asks)}
    with pinned({min(os.sched_getaffinity(0))} if hasattr(os, "sched_getaffinity") else None):
        passes["1 CPU"] = run_pass(rounds, asks)

    print(f"ask round trip: {rounds} rounds x {asks:,} asks a side, fresh actors each round")
    print(f"python {sys.version.split()[0]}, pykka {version('pykka')}, {os.cpu_count()} CPUs")
    print(row("metric (µs per ask)", "supervised", "bare", "ratio", "target", "met"))
    failed = False
    for label, result in passes.items():
        sup, bare = result.median("supervised"), result.median("bare")
        ok = sup / bare <= TARGET_RATIO
        failed |= not ok
        print(
            row(
                f"median, {label}",
                f"{sup:.1f}",
                f"{bare:.1f}",
                f"{sup / bare:.2f}",
                f"<= {TARGET_RATIO}",
                "yes" if ok else "NO",
            )
        )
        sup99, bare99 = result.p99("supervised"), result.p99("bare")
        print(row(f"p99, {label}", f"{sup99:.1f}", f"{bare99:.1f}", f"{sup99 / bare99:.2f}", "-", ""))
        where = result.median("whereis")
        print(
            row(
                f"whereis+ask, {label}",
                f"{where:.1f}",
                f"{bare:.1f}",
                f"{where / bare:.2f}",
                "-",
                "",
            )
        )
    print(f"target median ratio <= {TARGET_RATIO}: {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
