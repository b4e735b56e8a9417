"""Benchmark restart latency: a supervised child crashes until its replacement answers.

One sample is the time from ``tell``-ing the child a message that makes it raise, through
its supervisor noticing the exit and starting a new instance, to the new instance
answering an ``ask`` (found with ``sup.whereis``). The floor, measured in the same run
and interleaved sample by sample, is what a restart cannot avoid: a bare
``pykka.ThreadingActor.start()`` plus its first ``ask``. Target: median <= 2x the floor.

The restart is detected through events, not sleeps: a monitor on the old ref fires once
the old instance has finished exiting, by which time its supervisor has been told (its
own monitor runs first), so the next ``whereis`` is answered after the restart.
Each pass runs on all CPUs and again pinned to one CPU, where the cross-CPU wake-up noise
of a small VM disappears and what remains is the code path.

Events are ON: the library's events go, as they do by default (structlog not configured),
to stdlib ``logging``; the ``supervisors`` logger is at INFO with a ``StreamHandler`` whose
``Formatter`` formats every record (``logging.BASIC_FORMAT``: level, name, message, as
``logging.basicConfig(level=logging.INFO)`` would) into a null stream (a ``write`` that
drops the text: the handler's work without the I/O of a real sink). A restart logs one
event (``supervisor.child_restarted`` with the reason, at WARNING since it follows a crash;
the crash itself is a DEBUG event of the actor). A last pass, for diagnosis only, sets the
logger to ERROR, so no event is built.

Usage::

    .venv/bin/python benchmarks/bench_supervisor_restart.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pykka

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from _events import Counter, events_on  # benchmarks/, beside this script

from supervisors import Actor, ChildSpec, Supervisor, SupervisorRef, monitor

TARGET_RATIO = 2.0


class CrashingWorker(Actor):
    """Answers ``"ping"``; raises on ``"crash"`` (sent with ``tell``, so it crashes)."""

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crash on demand")
        return message


class BareWorker(pykka.ThreadingActor):
    """A bare pykka actor that answers ``"ping"``."""

    def on_receive(self, message: Any) -> Any:
        return message


def restart_once(sup: SupervisorRef) -> float:
    """Crash the child and return µs until its replacement has answered an ask."""
    old = sup.whereis("worker")
    gone = threading.Event()
    monitor(old, lambda _down: gone.set())
    start = time.perf_counter_ns()
    old.tell("crash")
    gone.wait()
    new = sup.whereis("worker")
    while new is None or new.actor_urn == old.actor_urn:  # not reached in practice
        new = sup.whereis("worker")
    new.ask("ping")
    return (time.perf_counter_ns() - start) / 1000


def floor_once() -> float:
    """Start a bare actor and ask it once; µs for both (its stop is not timed)."""
    start = time.perf_counter_ns()
    ref = BareWorker.start()
    ref.ask("ping")
    elapsed = (time.perf_counter_ns() - start) / 1000
    ref.stop()
    return elapsed


def run_pass(crashes: int) -> tuple[list[float], list[float]]:
    """Interleaved samples of restart latency and of the floor."""
    sup = Supervisor.start(
        [ChildSpec("worker", CrashingWorker.start)],
        max_restarts=crashes + 100,  # the window must never give up during the run
        max_seconds=1.0,
        name="bench",
    )
    restarts: list[float] = []
    floors: list[float] = []
    try:
        for _ in range(20):  # warm-up
            restart_once(sup)
            floor_once()
        for index in range(crashes):
            if index % 2:
                floors.append(floor_once())
                restarts.append(restart_once(sup))
            else:
                restarts.append(restart_once(sup))
                floors.append(floor_once())
        restarted = sup.which_child("worker").restarts
    finally:
        sup.stop()
    if restarted != crashes + 20:
        raise SystemExit(f"expected {crashes + 20} restarts, the supervisor counted {restarted}")
    return restarts, floors


@contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """Run the block with this thread (and every thread it starts) on ``cpus``."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


WIDTHS = (24, 12, 10, 8, 9)


def row(*cells: str) -> str:
    """One table line: metric, supervised, bare, ratio, target, met."""
    *numbers, met = cells
    line = numbers[0].ljust(WIDTHS[0])
    line += "".join(cell.rjust(width) for cell, width in zip(numbers[1:], WIDTHS[1:], strict=True))
    return f"{line}  {met}".rstrip()


def main(argv: list[str] | None = None) -> int:
    """Print median and p99 restart latency against the start+ask floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 crashes a pass, not 1,000")
    args = parser.parse_args(argv)
    crashes = 200 if args.quick else 1_000

    handler = events_on()
    counter = Counter()
    logging.getLogger("supervisors").addHandler(counter)
    passes = {"all CPUs": run_pass(crashes)}
    if hasattr(os, "sched_setaffinity"):
        with pinned({min(os.sched_getaffinity(0))}):
            passes["1 CPU"] = run_pass(crashes)
    events = counter.count
    # For the diagnosis only: the same pass with no event enabled.
    logging.getLogger("supervisors").setLevel(logging.ERROR)
    no_logs = run_pass(crashes)
    handler.close()
    if events < crashes * len(passes):
        raise SystemExit(f"events are not on: {events} records for {crashes * len(passes)} restarts")

    print(f"restart latency: {crashes:,} crashes a pass, each interleaved with a floor sample")
    print("supervised = crash -> replacement answers; bare = ThreadingActor.start() + first ask")
    print(f"python {sys.version.split()[0]}, pykka {version('pykka')}, {os.cpu_count()} CPUs")
    print(f"events on: INFO, formatted by a stdlib StreamHandler into a null stream; {events:,} records")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(row("metric (µs)", "supervised", "bare", "ratio", "target", "met"))
    failed = False
    for label, (restarts, floors) in passes.items():
        ratio = statistics.median(restarts) / statistics.median(floors)
        ok = ratio <= TARGET_RATIO
        failed |= not ok
        print(
            row(
                f"median, {label}",
                f"{statistics.median(restarts):.0f}",
                f"{statistics.median(floors):.0f}",
                f"{ratio:.2f}",
                f"<= {TARGET_RATIO}",
                "yes" if ok else "NO",
            )
        )
        print(
            row(
                f"p99, {label}",
                f"{p99(restarts):.0f}",
                f"{p99(floors):.0f}",
                f"{p99(restarts) / p99(floors):.2f}",
                "-",
                "",
            )
        )
    restarts, floors = no_logs
    print(
        row(
            "median, no event built",
            f"{statistics.median(restarts):.0f}",
            f"{statistics.median(floors):.0f}",
            f"{statistics.median(restarts) / statistics.median(floors):.2f}",
            "-",
            "(all CPUs, logger at ERROR)",
        )
    )
    print(f"target median ratio <= {TARGET_RATIO}: {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
