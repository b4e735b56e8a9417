"""Benchmark 10,000 children under a DynamicSupervisor against 10,000 bare pykka actors.

Each population runs in its own fresh interpreter (started by this script), so neither
inherits the other's freed memory or cached thread stacks, and no process ever holds more
than one population's threads (one process holds ~20,000 threads at most: the limit is
``vm.max_map_count``). The two alternate over several rounds; the table shows medians.

- start: wall time (and, for information, the CPU time of all the process's threads,
  which other load on the machine disturbs less); supervised is
  ``sup.start_child(ChildSpec(...))`` per child (an ask to the supervisor, which starts
  the child and waits for its ``on_start``); bare is
  ``ThreadingActor.start()`` per actor, which does not wait for ``on_start``.
- memory: RSS growth per child once all are started and each has answered one ``ask``,
  including the supervisor's bookkeeping and a distinct ``ChildSpec`` per child.
- stop: ``sup.stop()`` (children stopped in parallel) against ``ref.stop(block=False)``
  on every bare actor, then waiting for all.
- for information, a third population starts bare actors synchronously (``start()`` then
  ``ask`` each before the next), the part of the supervised cost that OTP's synchronous
  start implies.

Events are ON in the supervised population: the library's events go, as by default, to
stdlib ``logging``, the ``supervisors`` logger at INFO with a ``StreamHandler`` formatting
every record into a null stream. A child's start logs ``supervisor.child_started`` at DEBUG
(as OTP's progress reports), so none reaches the handler at INFO; a fourth population, for
information, runs the supervised side with the logger at DEBUG (one record per child).

Targets: memory per child <= 1.35x bare; start time <= 1.3x bare in every run. The start
target is read from the **interleaved** runs (2026-12-07): each run is one fresh process in
which both populations start ``--start-rounds`` times (5 up to 2,000 children, else once),
alternating, each round stopped and joined before the next; a run's ratio is the median of
its supervised rounds over the median of its bare rounds, and ``--runs`` of them (5 by
default) must each be at most 1.3. One population per process (the cold start above, still
printed with its per-run ratios) put a burst of other load on one side only: at 1,000
children a population starts in 0.1-0.6 s, and the same population's spread between runs
was wider than the whole margin. Also printed, for information: the interleaved time until
every actor has answered once, since a supervised start returns before the child's thread
has run (``supervisors._threads``) where ``Thread.start`` waits for it.

Usage::

    .venv/bin/python benchmarks/bench_dynamic_children.py [--quick] [--count N] [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pykka

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from _events import Counter, events_on  # benchmarks/, beside this script

from supervisors import Actor, ChildSpec, DynamicSupervisor

MAX_COUNT = 20_000
TARGETS = {"start": 1.3, "memory": 1.35}


class SupervisedWorker(Actor):
    """An idle supervised worker that answers ``ask``."""

    def on_receive(self, message: Any) -> Any:
        return message


class BareWorker(pykka.ThreadingActor):
    """The same worker on bare pykka."""

    def on_receive(self, message: Any) -> Any:
        return message


def rss_bytes() -> int:
    """This process's resident set size now."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_supervised(count: int, level: int = logging.INFO) -> dict[str, float]:
    """Start ``count`` children under one DynamicSupervisor, ask each, stop them all."""
    threads = threading.active_count()
    events_on(level)
    counter = Counter()
    logging.getLogger("supervisors").addHandler(counter)
    sup = DynamicSupervisor.start(name="bench")
    gc.collect()
    rss = rss_bytes()
    started, cpu = time.perf_counter(), time.process_time()
    refs = [sup.start_child(ChildSpec("worker", SupervisedWorker.start)) for _ in range(count)]
    start_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    for ref in refs:
        ref.ask("ping")
    gc.collect()
    memory = (rss_bytes() - rss) / count
    active = sup.count_children()["active"]
    del refs
    stopping = time.perf_counter()
    sup.stop()
    stop_s = time.perf_counter() - stopping
    return {
        "start_s": start_s,
        "start_cpu_s": cpu_s,
        "stop_s": stop_s,
        "memory": memory,
        "active": active,
        "leaked_threads": _settled_threads(threads),
        "events": counter.count,
    }


def measure_bare(count: int, *, synchronous: bool = False) -> dict[str, float]:
    """Start ``count`` bare pykka actors, ask each, stop them all in parallel.

    ``synchronous`` asks each actor right after starting it (inside the timed loop), as
    a supervisor waits for each child's ``on_start``.
    """
    threads = threading.active_count()
    gc.collect()
    rss = rss_bytes()
    started, cpu = time.perf_counter(), time.process_time()
    refs = []
    for _ in range(count):
        ref = BareWorker.start()
        if synchronous:
            ref.ask("ping")
        refs.append(ref)
    start_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    for ref in refs:
        ref.ask("ping")
    gc.collect()
    memory = (rss_bytes() - rss) / count
    active = sum(1 for ref in refs if ref.is_alive())
    stopping = time.perf_counter()
    for future in [ref.stop(block=False) for ref in refs]:
        future.get()
    stop_s = time.perf_counter() - stopping
    return {
        "start_s": start_s,
        "start_cpu_s": cpu_s,
        "stop_s": stop_s,
        "memory": memory,
        "active": active,
        "leaked_threads": _settled_threads(threads),
    }


def _round_supervised(count: int) -> tuple[float, float]:
    """One interleaved round: start ``count`` children under a fresh DynamicSupervisor, ask
    each, stop them all. Seconds for the starts, and until every child had answered once."""
    sup = DynamicSupervisor.start(name="bench")
    gc.collect()
    started = time.perf_counter()
    refs = [sup.start_child(ChildSpec("worker", SupervisedWorker.start)) for _ in range(count)]
    elapsed = time.perf_counter() - started
    for ref in refs:
        ref.ask("ping")
    answered = time.perf_counter() - started
    del refs
    sup.stop()  # joins every child's thread
    return elapsed, answered


def _round_bare(count: int) -> tuple[float, float]:
    """The same round on bare pykka: ``ThreadingActor.start()`` per actor."""
    gc.collect()
    started = time.perf_counter()
    refs = [BareWorker.start() for _ in range(count)]
    elapsed = time.perf_counter() - started
    for ref in refs:
        ref.ask("ping")
    answered = time.perf_counter() - started
    for future in [ref.stop(block=False) for ref in refs]:
        future.get()
    _settled_threads(0)  # joins them: none still exiting when the next round starts
    return elapsed, answered


def measure_interleaved(count: int, rounds: int) -> dict[str, Any]:
    """Start times of both populations in one fresh process, round by round, alternating.

    Each round starts one population, asks each actor, stops them all and joins their
    threads before the next, so only one population's threads exist at a time. The two
    sides alternate which goes first. A burst of other load on the machine then falls on
    both sides' rounds alike, where one population per process (the other figures) puts
    it on one side only.
    """
    threads = threading.active_count()
    events_on()
    counter = Counter()
    logging.getLogger("supervisors").addHandler(counter)
    _round_supervised(min(count, 100))  # warm-up: imports, first allocations
    _round_bare(min(count, 100))
    results: dict[str, list[tuple[float, float]]] = {"supervised": [], "bare": []}
    for index in range(rounds):
        if index % 2:
            results["bare"].append(_round_bare(count))
            results["supervised"].append(_round_supervised(count))
        else:
            results["supervised"].append(_round_supervised(count))
            results["bare"].append(_round_bare(count))
    return {
        "supervised": [start for start, _ in results["supervised"]],
        "bare": [start for start, _ in results["bare"]],
        "supervised_answered": [answered for _, answered in results["supervised"]],
        "bare_answered": [answered for _, answered in results["bare"]],
        "active": count,
        "leaked_threads": _settled_threads(threads),
        "events": counter.count,
    }


def _settled_threads(baseline: int) -> int:
    """Threads above ``baseline`` once stopped actors' threads have returned."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith(
            ("SupervisedWorker", "BareWorker", "SupervisorActor")
        ):
            thread.join(timeout=10)
    return threading.active_count() - baseline


def run_child(side: str, count: int, rounds: int = 1) -> dict[str, Any]:
    """Measure one population (or ``interleaved`` rounds) in a fresh interpreter running this script."""
    command = [
        sys.executable,
        __file__,
        "--measure",
        side,
        "--count",
        str(count),
        "--start-rounds",
        str(rounds),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{side} run failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["active"] != count or result["leaked_threads"]:
        raise SystemExit(f"{side} run is not clean: {result}")
    if side == "supervised_debug" and result["events"] < count:
        raise SystemExit(f"events are not on: {result['events']} records for {count} children")
    return result


SIDES: dict[str, Callable[[int], dict[str, float]]] = {
    "supervised": measure_supervised,
    "bare": measure_bare,
    "bare_sync": lambda count: measure_bare(count, synchronous=True),
    "supervised_debug": lambda count: measure_supervised(count, logging.DEBUG),
}

WIDTHS = (22, 12, 10, 8, 9)


def row(*cells: str) -> str:
    """One table line: metric, supervised, bare, ratio, target, met."""
    *numbers, met = cells
    line = numbers[0].ljust(WIDTHS[0])
    line += "".join(cell.rjust(width) for cell, width in zip(numbers[1:], WIDTHS[1:], strict=True))
    return f"{line}  {met}".rstrip()


def main(argv: list[str] | None = None) -> int:
    """Print start time, stop time and memory per child, supervised against bare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 children, not 10,000")
    parser.add_argument("--count", type=int, default=None, help="children (default 10,000)")
    parser.add_argument(
        "--runs", "--rounds", dest="runs", type=int, default=5, help="alternating runs (default 5)"
    )
    parser.add_argument(
        "--start-rounds",
        type=int,
        default=None,
        help="interleaved start rounds per run (default 5 up to 2,000 children, else 1)",
    )
    parser.add_argument("--measure", choices=[*sorted(SIDES), "interleaved"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    count = args.count or (1_000 if args.quick else 10_000)
    if not 0 < count <= MAX_COUNT:
        parser.error(f"--count must be between 1 and {MAX_COUNT:,} (threads per process)")

    rounds = args.start_rounds or (5 if count <= 2_000 else 1)
    if args.measure == "interleaved":  # inside a child interpreter
        print(json.dumps(measure_interleaved(count, rounds)))
        return 0
    if args.measure:
        print(json.dumps(SIDES[args.measure](count)))
        return 0

    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    interleaved: list[dict[str, Any]] = []
    for index in range(args.runs):
        for side in list(SIDES) if index % 2 == 0 else reversed(SIDES):
            runs[side].append(run_child(side, count))
        interleaved.append(run_child("interleaved", count, rounds))

    def median(side: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[side])

    print(f"{count:,} children per population, {args.runs} runs, each population in a fresh process")
    print(f"python {sys.version.split()[0]}, pykka {version('pykka')}, {os.cpu_count()} CPUs")
    print("events on (supervised): INFO, formatted by a stdlib StreamHandler into a null stream")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(row("metric (median)", "supervised", "bare", "ratio", "target", "met"))
    failed = False
    lines = [
        ("start all, cold (s)", "start_s", 1.0, None),
        ("  per child (µs)", "start_s", 1e6 / count, None),
        ("  CPU per child (µs)", "start_cpu_s", 1e6 / count, None),
        ("stop all (s)", "stop_s", 1.0, None),
        ("memory/child (KiB)", "memory", 1 / 1024, "memory"),
    ]
    for label, key, scale, target_key in lines:
        sup, bare = median("supervised", key), median("bare", key)
        ratio = sup / bare
        target, met = "-", ""
        if target_key is not None:
            target = f"<= {TARGETS[target_key]}"
            ok = ratio <= TARGETS[target_key]
            failed |= not ok
            met = "yes" if ok else "NO"
        digits = 0 if scale > 1 else 2 if scale == 1.0 else 1
        print(
            row(
                label,
                f"{sup * scale:.{digits}f}",
                f"{bare * scale:.{digits}f}",
                f"{ratio:.2f}",
                target,
                met,
            )
        )
    sup_debug, bare = median("supervised_debug", "start_s"), median("bare", "start_s")
    print(
        row(
            "start all, DEBUG on",
            f"{sup_debug:.2f}",
            f"{bare:.2f}",
            f"{sup_debug / bare:.2f}",
            "-",
            "(supervised with child_started delivered)",
        )
    )
    sup, bare_sync = median("supervised", "start_s"), median("bare_sync", "start_s")
    print(
        row(
            "start all, bare+ask",
            f"{sup:.2f}",
            f"{bare_sync:.2f}",
            f"{sup / bare_sync:.2f}",
            "-",
            "(bare asks each actor once started)",
        )
    )
    for side, runs_of_side in runs.items():
        starts = ", ".join(f"{run['start_s']:.3f}" for run in runs_of_side)
        stops = ", ".join(f"{run['stop_s']:.3f}" for run in runs_of_side)
        print(f"  {side} runs: start {starts} s; stop {stops} s")
    ratios = [
        sup_run["start_s"] / bare_run["start_s"]
        for sup_run, bare_run in zip(runs["supervised"], runs["bare"], strict=True)
    ]
    cpu_ratios = [
        sup_run["start_cpu_s"] / bare_run["start_cpu_s"]
        for sup_run, bare_run in zip(runs["supervised"], runs["bare"], strict=True)
    ]
    print(
        f"start CPU-time ratio per run (all threads of the process; for information): "
        f"{', '.join(f'{r:.2f}' for r in cpu_ratios)}; spread {min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}"
    )
    print(
        f"cold start ratio per run (one population per process, for information): "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; spread {min(ratios):.2f}-{max(ratios):.2f}"
    )
    for run in interleaved:
        if run["active"] != count or run["leaked_threads"]:
            raise SystemExit(f"interleaved run is not clean: {run}")
    inter = [statistics.median(run["supervised"]) / statistics.median(run["bare"]) for run in interleaved]
    sup_i = statistics.median(statistics.median(run["supervised"]) for run in interleaved)
    bare_i = statistics.median(statistics.median(run["bare"]) for run in interleaved)
    stable = max(inter) <= TARGETS["start"]
    failed |= not stable
    print(
        row(
            "start, interleaved (s)",
            f"{sup_i:.3f}",
            f"{bare_i:.3f}",
            f"{sup_i / bare_i:.2f}",
            f"<= {TARGETS['start']}",
            "yes" if stable else "NO",
        )
    )
    print(
        f"start ratio per run (median of {rounds} interleaved rounds in one fresh process, "
        f"supervised / bare): {', '.join(f'{r:.2f}' for r in inter)}; "
        f"spread {min(inter):.2f}-{max(inter):.2f}; every run <= {TARGETS['start']}: "
        f"{'yes' if stable else 'NO'}"
    )
    answered = [
        statistics.median(run["supervised_answered"]) / statistics.median(run["bare_answered"])
        for run in interleaved
    ]
    print(
        f"start until every actor answered once (for information: a supervised start returns "
        f"before the child's thread has run): {', '.join(f'{r:.2f}' for r in answered)}; "
        f"spread {min(answered):.2f}-{max(answered):.2f}"
    )
    for run in interleaved:
        sup_rounds = ", ".join(f"{x:.3f}" for x in run["supervised"])
        bare_rounds = ", ".join(f"{x:.3f}" for x in run["bare"])
        print(f"  interleaved rounds: supervised {sup_rounds} s; bare {bare_rounds} s")
    print(f"targets (start <= 1.3x in every run, memory <= 1.35x): {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
