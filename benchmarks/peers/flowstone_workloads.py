"""FlowStone side of the peer benchmarks: prints one JSON line of medians.

Workloads (trivial assets returning a small int, in-process, one node per store):

- ``single``: one asset; ``chain``: ``a0 → … → a99``; ``fan``: ``root → m0 … m99 → sink``.
  Each repeat runs the target on a fresh partition, so every asset is computed again.
- ``partitions``: ``node.backfill`` of one asset over 30 fresh days (``parallel=1``).
- each of the above on an in-memory node (``fs.start()``) and on the embedded SQLite store
  (``fs.start(database_url="sqlite:///<tmp>/fs.db")``: records and values in the database);
- ``scatter``: one asset scattered over 1,000 keys (``fs.Scatter(keys=...)``, each key's
  function returning its key) and gathered by a streaming sum, on an in-memory node, a
  fresh partition per repeat; 3 measured repeats at most, as Dagster's side;
- ``import``: ``python -c "import flowstone"`` minus ``python -c pass`` in fresh interpreters.

One warm-up repeat is not counted; repeats are interleaved across workloads.

Usage::

    .venv/bin/python benchmarks/peers/flowstone_workloads.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout

import flowstone as fs

# Logging is the library's default: events go to stdlib logging, whose level (WARNING, as
# nothing here configures it) is checked before an event is built.

WIDTH = 100
DAYS = 30
FIRST_DAY = date(2020, 1, 1)


def _asset_fn(name: str) -> Callable[..., int]:
    def fn(ctx: fs.Context, **deps: int) -> int:
        return 1 + sum(deps.values())

    fn.__name__ = fn.__qualname__ = name
    return fn


def single() -> tuple[fs.Pipeline, str, int]:
    pipeline = fs.Pipeline("peers_single")
    pipeline.asset(_asset_fn("only"))
    return pipeline, "only", 1


def chain(n: int = WIDTH) -> tuple[fs.Pipeline, str, int]:
    pipeline = fs.Pipeline("peers_chain")
    for i in range(n):
        pipeline.asset(depends_on=[f"a{i - 1}"] if i else [])(_asset_fn(f"a{i}"))
    return pipeline, f"a{n - 1}", n


def fan(n: int = WIDTH) -> tuple[fs.Pipeline, str, int]:
    pipeline = fs.Pipeline("peers_fan")
    pipeline.asset(_asset_fn("root"))
    for i in range(n):
        pipeline.asset(depends_on=["root"])(_asset_fn(f"m{i}"))
    pipeline.asset(depends_on=[f"m{i}" for i in range(n)])(_asset_fn("sink"))
    return pipeline, "sink", n + 2  # root, n middles, sink; the sink returns 1 + 2n


def daily() -> fs.Pipeline:
    pipeline = fs.Pipeline("peers_daily")
    pipeline.asset(_asset_fn("daily"))
    return pipeline


KEYS = 1_000


def scatter_ms(runs: int) -> dict[str, Any]:
    """The 1,000-key scatter, one warm-up then ``runs`` repeats (``scatter``)."""
    pipeline = fs.Pipeline("peers_scatter")

    @pipeline.asset(
        scatter=fs.Scatter(keys=lambda ctx: range(KEYS), gather=lambda ctx, rs: sum(v for _, v in rs))
    )
    def scattered(ctx: fs.Context) -> int:
        return int(ctx.scatter_key)

    samples = []
    with fs.start(name="peers-scatter") as node:
        for repeat in range(runs + 1):
            started = time.perf_counter()
            value = node.run(pipeline, "scattered", partition=repeat)
            elapsed = time.perf_counter() - started
            assert value == KEYS * (KEYS - 1) // 2, value
            if repeat:
                samples.append(elapsed)
    return summary(samples, KEYS, "keys")


def import_ms(runs: int) -> dict[str, Any]:
    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return time.perf_counter() - started

    wall("import flowstone")  # warm the file cache
    bare, full = [], []
    for _ in range(runs):
        bare.append(wall("pass"))
        full.append(wall("import flowstone"))
    diffs = [(f - b) * 1e3 for f, b in zip(full, bare, strict=True)]
    return {
        "median_ms": statistics.median(diffs),
        "min_ms": min(diffs),
        "max_ms": max(diffs),
        "bare_ms": statistics.median(bare) * 1e3,
        "runs": runs,
    }


def summary(samples: list[float], unit_count: int, unit: str) -> dict[str, Any]:
    median = statistics.median(samples) * 1e3
    return {
        "median_ms": median,
        "min_ms": min(samples) * 1e3,
        "max_ms": max(samples) * 1e3,
        unit: unit_count,
        f"per_{unit[:-1]}_ms": median / unit_count,
        "runs": len(samples),
    }


def measure(runs: int) -> dict[str, Any]:
    shapes = {"single": single(), "chain": chain(), "fan": fan()}
    expected = {"single": 1, "chain": WIDTH, "fan": 1 + 2 * WIDTH}
    days_pipeline = daily()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="peers-flowstone-") as tmp:
        stores = {"memory": None, "sqlite": f"sqlite:///{Path(tmp) / 'fs.db'}"}
        for store, url in stores.items():
            samples: dict[str, list[float]] = {name: [] for name in [*shapes, "partitions"]}
            with fs.start(name=f"peers-{store}", database_url=url) as node:
                for repeat in range(runs + 1):  # repeat 0 is the warm-up
                    for name, (pipeline, target, _count) in shapes.items():
                        started = time.perf_counter()
                        value = node.run(pipeline, target, partition=repeat)
                        elapsed = time.perf_counter() - started
                        assert value == expected[name], (name, value)
                        if repeat:
                            samples[name].append(elapsed)
                    first = FIRST_DAY + timedelta(days=DAYS * repeat)  # fresh days every repeat
                    days = list(fs.partitions.daily(first, first + timedelta(days=DAYS - 1)))
                    started = time.perf_counter()
                    report = node.backfill(days_pipeline, "daily", days)
                    elapsed = time.perf_counter() - started
                    assert report.succeeded == DAYS, report
                    if repeat:
                        samples["partitions"].append(elapsed)
            for name, (_pipeline, _target, count) in shapes.items():
                results[f"{name}_{store}"] = summary(samples[name], count, "assets")
            results[f"partitions_{store}"] = summary(samples["partitions"], DAYS, "partitions")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 repeats (default 7)")
    parser.add_argument("--runs", type=int, default=None, help="measured repeats (at least 5)")
    args = parser.parse_args(argv)
    runs = max(5, args.runs or (5 if args.quick else 7))
    workloads = measure(runs)
    workloads["scatter_memory"] = scatter_ms(min(runs, 3))
    workloads["import"] = import_ms(max(runs, 7))
    print(
        json.dumps(
            {
                "tool": "flowstone",
                "version": fs.__version__,
                "python": sys.version.split()[0],
                "runs": runs,
                "workloads": workloads,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
