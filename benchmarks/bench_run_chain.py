"""Benchmark in-memory runs: per-asset overhead of a 1,000-asset chain and fan-out, and planning.

Two shapes, each of about 1,000 trivial assets, run on an in-memory node:

- chain: ``a0 → a1 → … → a999``, each asset returning its dependency plus one;
- fan-out/fan-in: ``root → m0 … m999 → sink`` (1,002 assets), the sink summing 1,000 values.

Also measured in the same run, for context: a bare two-hop thread round trip per asset
(``queue.SimpleQueue`` to a worker thread and back), the floor of any design that runs
assets on runner threads (issue 3: at most two actor hops per asset).

Every measured run uses a fresh partition, so every asset runs again (``force=True``
would re-run the target only). The floor is calling the same asset functions directly,
in topological order, passing each its dependencies' values from a dict, measured in the
same run; the overhead per asset is ``(run - floor) / assets``. One warm-up run per shape
is not counted; the figure is the median over the runs.

Planning: ``pipeline.validate()`` (graph check, dependants, topological order) on a fresh,
not yet validated 1,000-asset chain and fan-out, and ``flowstone._graph.topological_order``
alone, against ``graphlib.TopologicalSorter.static_order`` on the same graph.

Targets: ≤ 50 µs overhead per asset in memory (issue 22; issue 3 asked ≤ 100 µs);
planning a 1,000-asset graph ≤ 10 ms. Logging is the library's default: its events go to
stdlib ``logging``, whose level (WARNING unless the host says otherwise) is checked before
an event is built, as in an application that does not configure logging.

When a target is missed (or with ``--profile``) the script profiles one run of the
slower shape with cProfile: the calling thread, and the runner threads of a fresh node
(through ``threading.setprofile``), unless ``--no-profile``.

``--inline`` adds, for information, the same runs with no thread hand-off: the node's
runner pool is swapped, for those runs only, for runners that the scheduler's ``tell``
runs on the calling thread (the same ``RunnerActor.on_receive``, the same attempts and
store). Its overhead per asset is the engine's Python alone, on one thread with no wake-ups
and no GIL contention; the gap to the threaded figure is what the hand-offs cost.

Usage::

    .venv/bin/python benchmarks/bench_run_chain.py [--quick] [--runs N] [--inline] [--profile | --no-profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import graphlib
import io
import pstats
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs
from flowstone import _graph
from flowstone._execution.runner import RunnerActor

ASSETS = 1_000
TARGET_OVERHEAD_US = 50.0
TARGET_PLANNING_MS = 10.0

Spec = list[tuple[str, Callable[..., Any], tuple[str, ...]]]
Shape = tuple[fs.Pipeline, str, Spec]


def _asset_fn(name: str, body: Callable[..., Any]) -> Callable[..., Any]:
    """A fresh function object named ``name`` (the asset name comes from ``__name__``)."""

    def fn(ctx: Any, **deps: Any) -> Any:
        return body(deps)

    fn.__name__ = fn.__qualname__ = name
    return fn


def _one_plus(deps: dict[str, Any]) -> int:
    return 1 + int(sum(deps.values()))


def chain(n: int = ASSETS) -> Shape:
    """``a0 → … → a{n-1}``; returns the pipeline, its target and (name, fn, deps) in topological order."""
    pipeline = fs.Pipeline(f"chain{n}")
    spec: Spec = []
    for i in range(n):
        name = f"a{i}"
        deps: tuple[str, ...] = (f"a{i - 1}",) if i else ()
        fn = _asset_fn(name, _one_plus)
        pipeline.asset(depends_on=list(deps))(fn)
        spec.append((name, fn, deps))
    return pipeline, spec[-1][0], spec


def fan(n: int = ASSETS) -> Shape:
    """``root → m0 … m{n-1} → sink``."""
    pipeline = fs.Pipeline(f"fan{n}")
    spec: Spec = []
    root = _asset_fn("root", _one_plus)
    pipeline.asset(root)
    spec.append(("root", root, ()))
    for i in range(n):
        fn = _asset_fn(f"m{i}", _one_plus)
        pipeline.asset(depends_on=["root"])(fn)
        spec.append((f"m{i}", fn, ("root",)))
    middles = tuple(f"m{i}" for i in range(n))
    sink = _asset_fn("sink", _one_plus)
    pipeline.asset(depends_on=list(middles))(sink)
    spec.append(("sink", sink, middles))
    return pipeline, "sink", spec


def call_directly(spec: Spec) -> Any:
    """The floor: the same functions, in topological order, values passed through a dict."""
    values: dict[str, Any] = {}
    for name, fn, deps in spec:
        values[name] = fn(None, **{d: values[d] for d in deps})
    return values[spec[-1][0]]


def handoff_floor(count: int) -> float:
    """Seconds for ``count`` two-hop round trips: caller → worker thread → caller.

    Each asset of a run costs two such hops at least (dispatch to a runner, outcome back),
    so this is the floor of any design that runs assets on other threads, measured here
    because the machine's wake-up latency moves it by 2× between runs.
    """
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    replies: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def worker() -> None:
        while (item := inbox.get()) is not None:
            replies.put(item)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        started = time.perf_counter()
        for i in range(count):
            inbox.put(i)
            replies.get()
        return time.perf_counter() - started
    finally:
        inbox.put(None)
        thread.join()


def measure_shape(node: fs.Node, shape: Shape, runs: int, first_partition: int) -> dict[str, Any]:
    pipeline, target, spec = shape
    expected = call_directly(spec)
    partition = first_partition
    assert node.run(pipeline, target, partition=partition) == expected  # warm-up
    run_s, floor_s, handoff_s = [], [], []
    for _ in range(runs):
        partition += 1
        started = time.perf_counter()
        value = node.run(pipeline, target, partition=partition)
        run_s.append(time.perf_counter() - started)
        assert value == expected, (value, expected)
        started = time.perf_counter()
        for _ in range(10):  # the floor is short: time ten calls and take one
            call_directly(spec)
        floor_s.append((time.perf_counter() - started) / 10)
        handoff_s.append(handoff_floor(len(spec)))
    count = len(spec)
    run_med, floor_med = statistics.median(run_s), statistics.median(floor_s)
    handoff_med = statistics.median(handoff_s)
    return {
        "assets": count,
        "run_ms": run_med * 1e3,
        "run_min_ms": min(run_s) * 1e3,
        "run_max_ms": max(run_s) * 1e3,
        "floor_ms": floor_med * 1e3,
        "per_asset_us": run_med / count * 1e6,
        "floor_per_asset_us": floor_med / count * 1e6,
        "overhead_us": (run_med - floor_med) / count * 1e6,
        "ratio": run_med / floor_med,
        "handoff_us": handoff_med / count * 1e6,
        "handoff_ratio": run_med / handoff_med,
        "partition": partition,
    }


class _InlineRunner:
    """A runner whose ``tell`` runs the message at once, on the caller's thread."""

    def __init__(self, actor: RunnerActor) -> None:
        self._actor = actor

    def tell(self, message: Any) -> None:
        self._actor.on_receive(message)

    def is_alive(self) -> bool:
        return True


class _InlinePool:
    """What a scheduler and its runners use of ``RunnerPool``, with ``_InlineRunner`` s:
    as many as the node's runners (so that a fan-out is shared out the same way), never
    started as actors, answered synchronously; nothing to watch, since none can die."""

    def __init__(self, services: Any, size: int) -> None:
        self.size = size
        self.closed = False
        self._by_ref: dict[Any, _InlineRunner] = {}
        self._idle: list[_InlineRunner] = []
        for _ in range(size):
            actor = RunnerActor(services)
            runner = _InlineRunner(actor)
            self._by_ref[actor.actor_ref] = runner
            self._idle.append(runner)

    def checkin(self, ref: Any) -> None:
        self._idle.append(self._by_ref[ref])

    def try_acquire(self) -> _InlineRunner | None:
        return self._idle.pop() if self._idle else None

    def acquire(self, timeout: float | None) -> _InlineRunner | None:
        return self.try_acquire()

    def watch(self, runner: Any, down: Callable[[str], None]) -> None:
        pass


@contextlib.contextmanager
def inline_runners(node: fs.Node) -> Any:
    """The node's runs, while inside, go to ``_InlinePool`` runners (a private swap, for
    this benchmark only: the node's own runners stay idle in their pool meanwhile)."""
    services = node._services  # private: the benchmark measures the engine's insides
    real = services.pool
    object.__setattr__(services, "pool", _InlinePool(services, real.size))  # Services is frozen
    try:
        yield
    finally:
        object.__setattr__(services, "pool", real)


def measure_planning(runs: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for label, build in (("chain", chain), ("fan-out", fan)):
        validate_s, topo_s, graphlib_s = [], [], []
        for _ in range(runs):
            pipeline, _target, _spec = build()  # fresh: validate() does the whole job again
            started = time.perf_counter()
            pipeline.validate()
            validate_s.append(time.perf_counter() - started)
            deps = pipeline.deps
            started = time.perf_counter()
            order = _graph.topological_order(deps)
            topo_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            reference = list(graphlib.TopologicalSorter(deps).static_order())
            graphlib_s.append(time.perf_counter() - started)
            assert len(order) == len(reference) == len(deps)
        results[label] = {
            "validate_ms": statistics.median(validate_s) * 1e3,
            "topo_ms": statistics.median(topo_s) * 1e3,
            "graphlib_ms": statistics.median(graphlib_s) * 1e3,
        }
    return results


def profile_run(shape: Shape, partition: int) -> None:
    """cProfile of one run on a fresh node: the calling thread, and the runner threads merged."""
    pipeline, target, _spec = shape
    lock = threading.Lock()
    profiles: list[cProfile.Profile] = []

    def install(*_args: Any) -> None:
        # threading.setprofile calls this in each new thread: give the thread its own profiler.
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()

    threading.setprofile(install)
    try:
        profiled = fs.start(name="bench-profile")
    finally:
        threading.setprofile(None)
    with profiled:
        profiled.run(pipeline, target, partition=partition)  # warm-up
        for profile in profiles:
            profile.clear()
        caller = cProfile.Profile()
        caller.enable()
        profiled.run(pipeline, target, partition=partition + 1)
        caller.disable()
        for profile in profiles:
            profile.disable()
    for label, sources in (("calling thread", [caller]), ("runner and actor threads", profiles)):
        if not sources:
            continue
        out = io.StringIO()
        stats = pstats.Stats(sources[0], stream=out)
        for extra in sources[1:]:
            with contextlib.suppress(TypeError):  # a profiler that saw no call has no stats
                stats.add(extra)
        stats.sort_stats("tottime").print_stats(14)
        print(f"\n--- cProfile, {label} (sorted by own time) ---")
        print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs (default 9)")
    parser.add_argument("--runs", type=int, default=None, help="measured runs per shape")
    parser.add_argument("--no-profile", action="store_true", help="do not profile when a target is missed")
    parser.add_argument("--profile", action="store_true", help="profile one run even if every target is met")
    parser.add_argument(
        "--inline", action="store_true", help="also run each shape with its runners on the calling thread"
    )
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 9)

    print(f"flowstone {fs.__version__}, Python {sys.version.split()[0]}, {runs} runs per figure (median)")
    shapes = {"chain": chain(), "fan-out/fan-in": fan()}
    missed = False
    with fs.start(name="bench") as node:
        print(f"runners (max_concurrency): {node.config.max_concurrency}\n")
        print(
            f"{'shape':<16} {'assets':>6} {'run ms':>9} {'(min–max)':>15} {'floor ms':>9} "
            f"{'µs/asset':>9} {'floor µs':>9} {'overhead µs':>11} {'ratio':>7} {'2-hop µs':>9} {'ratio':>6}"
        )
        results = {}
        for label, shape in shapes.items():
            r = measure_shape(node, shape, runs, first_partition=0)
            results[label] = r
            spread = f"({r['run_min_ms']:.1f}–{r['run_max_ms']:.1f})"
            print(
                f"{label:<16} {r['assets']:>6} {r['run_ms']:>9.1f} {spread:>15} {r['floor_ms']:>9.3f} "
                f"{r['per_asset_us']:>9.1f} {r['floor_per_asset_us']:>9.2f} {r['overhead_us']:>11.1f} "
                f"{r['ratio']:>6.0f}× {r['handoff_us']:>9.1f} {r['handoff_ratio']:>5.1f}×"
            )
        if args.inline:
            with inline_runners(node):
                for label, shape in shapes.items():
                    r = measure_shape(node, shape, runs, first_partition=10_000)
                    spread = f"({r['run_min_ms']:.1f}–{r['run_max_ms']:.1f})"
                    name = label.split("/")[0] + " inline"
                    print(
                        f"{name:<16} {r['assets']:>6} {r['run_ms']:>9.1f} {spread:>15} "
                        f"{r['floor_ms']:>9.3f} {r['per_asset_us']:>9.1f} {r['floor_per_asset_us']:>9.2f} "
                        f"{r['overhead_us']:>11.1f} {r['ratio']:>6.0f}×"
                    )
        print(
            "  ratio: run / floor of direct calls; 2-hop: a bare thread round trip per asset "
            "(caller → worker → caller), the floor of a dispatch to a runner and back"
        )
        if args.inline:
            print(
                "  inline: the same runs, runners called on this thread (no hand-off, no GIL "
                "contention): the engine's Python per asset alone (for information, no target)"
            )
        for label, r in results.items():
            met = r["overhead_us"] <= TARGET_OVERHEAD_US
            missed |= not met
            print(
                f"  target {label}: ≤ {TARGET_OVERHEAD_US:g} µs overhead per asset → "
                f"{r['overhead_us']:.1f} µs: {'met' if met else 'MISSED'}"
            )

        planning = measure_planning(max(runs, 7))
        header = f"{'planning (1,000 assets)':<24} {'validate ms':>12} {'topo ms':>9} {'graphlib ms':>12}"
        print(f"\n{header} {'ratio':>7}")
        for label, p in planning.items():
            print(
                f"{label:<24} {p['validate_ms']:>12.2f} {p['topo_ms']:>9.2f} {p['graphlib_ms']:>12.2f} "
                f"{p['validate_ms'] / p['graphlib_ms']:>6.1f}×"
            )
        for label, p in planning.items():
            total = p["validate_ms"]
            met = total <= TARGET_PLANNING_MS
            missed |= not met
            print(
                f"  target {label}: validate ≤ {TARGET_PLANNING_MS:g} ms → {total:.2f} ms: "
                f"{'met' if met else 'MISSED'}"
            )
        if args.profile or (missed and not args.no_profile):
            worst = max(results, key=lambda k: results[k]["overhead_us"])
            print(f"\nprofiling one {worst} run")
            profile_run(shapes[worst], results[worst]["partition"] + 1000)
    print(f"\ntargets: {'MISSED' if missed else 'met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
