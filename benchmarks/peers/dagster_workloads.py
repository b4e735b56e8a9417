"""Dagster side of the peer benchmarks: prints one JSON line of medians.

Run with the venv made by ``setup.sh``. The same workloads as ``flowstone_workloads.py``,
each a ``dagster.materialize([...])`` call in-process (Dagster's in-process executor):

- ``single``: one asset; ``chain``: ``a0 → … → a99``; ``fan``: ``root → m0 … m99 → sink``.
- ``memory``: a new ephemeral instance per call (``materialize``'s default) and
  ``mem_io_manager``;
- ``sqlite``: one ``DagsterInstance.local_temp`` on a temp dir (its default SQLite run,
  event-log and schedule storage), shared by every call, and the default filesystem IO
  manager (pickle files under the instance's storage dir);
- ``partitions``: one asset with a ``DailyPartitionsDefinition``, 30 separate
  ``materialize(..., partition_key=day)`` runs (fresh days every repeat), on one instance
  per store as above;
- ``scatter``: dynamic mapping over 1,000 keys in one graph-backed asset
  (``keys().map(work).collect()`` then a sum: an op with ``DynamicOut`` yielding one
  ``DynamicOutput`` per key), ``materialize`` on a new ephemeral instance with
  ``mem_io_manager``; 3 measured repeats at most (a repeat takes tens of seconds);
- ``import``: ``python -c "import dagster"`` minus ``python -c pass`` in fresh interpreters.

Asset definitions are built once, outside the timings. The console logger runs at
WARNING, ``DAGSTER_HOME`` is a temp dir and telemetry is off (Dagster's best case). One
warm-up repeat is not counted; repeats are interleaved across workloads.

Usage::

    benchmarks/peers/.venv-dagster/bin/python benchmarks/peers/dagster_workloads.py [--quick] [--runs N]
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

_HOME = tempfile.TemporaryDirectory(prefix="peers-dagster-home-")
os.environ["DAGSTER_HOME"] = _HOME.name
NO_TELEMETRY = {"telemetry": {"enabled": False}}  # no banner, no telemetry log files
Path(_HOME.name, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
warnings.filterwarnings("ignore")  # beta/preview warnings would otherwise go to stderr

import dagster as dg  # noqa: E402 - DAGSTER_HOME must be set first

WIDTH = 100
DAYS = 30
FIRST_DAY = date(2020, 1, 1)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

for _name in ("dagster", "dagster_daemon", "alembic"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def single() -> tuple[list[dg.AssetsDefinition], int]:
    @dg.asset(name="only")
    def only() -> int:
        return 1

    return [only], 1


def _link(i: int) -> dg.AssetsDefinition:
    if i == 0:

        @dg.asset(name="a0")
        def first() -> int:
            return 1

        return first

    @dg.asset(name=f"a{i}", ins={"prev": dg.AssetIn(f"a{i - 1}")})
    def link(prev: int) -> int:
        return prev + 1

    return link


def chain(n: int = WIDTH) -> tuple[list[dg.AssetsDefinition], int]:
    return [_link(i) for i in range(n)], n


def _middle(i: int) -> dg.AssetsDefinition:
    @dg.asset(name=f"m{i}", ins={"root": dg.AssetIn("root")})
    def middle(root: int) -> int:
        return root + 1

    return middle


def fan(n: int = WIDTH) -> tuple[list[dg.AssetsDefinition], int]:
    @dg.asset(name="root")
    def root() -> int:
        return 1

    @dg.asset(name="sink", ins={f"m{i}": dg.AssetIn(f"m{i}") for i in range(n)})
    def sink(**middles: int) -> int:
        return 1 + sum(middles.values())

    return [root, *(_middle(i) for i in range(n)), sink], n + 2


DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat())


@dg.asset(partitions_def=DAILY)
def daily(context: dg.AssetExecutionContext) -> int:
    return len(context.partition_key)


KEYS = 1_000


@dg.op(out=dg.DynamicOut())
def scatter_keys() -> Any:
    for key in range(KEYS):
        yield dg.DynamicOutput(key, mapping_key=str(key))


@dg.op
def scatter_work(key: int) -> int:
    return key


@dg.op
def scatter_sum(values: list[int]) -> int:
    return sum(values)


@dg.graph_asset(name="scattered")
def scattered() -> Any:
    return scatter_sum(scatter_keys().map(scatter_work).collect())


def scatter_ms(runs: int) -> dict[str, Any]:
    """The 1,000-key dynamic mapping, one warm-up then ``runs`` repeats (``scatter``)."""
    samples = []
    for repeat in range(runs + 1):
        started = time.perf_counter()
        result = dg.materialize([scattered], run_config=QUIET, resources={"io_manager": dg.mem_io_manager})
        elapsed = time.perf_counter() - started
        assert result.success
        assert result.output_for_node("scattered") == KEYS * (KEYS - 1) // 2
        if repeat:
            samples.append(elapsed)
    return summary(samples, KEYS, "keys")


def import_ms(runs: int) -> dict[str, Any]:
    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return time.perf_counter() - started

    wall("import dagster")  # warm the file cache
    bare, full = [], []
    for _ in range(runs):
        bare.append(wall("pass"))
        full.append(wall("import dagster"))
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
    expected = {"single": ("only", 1), "chain": (f"a{WIDTH - 1}", WIDTH), "fan": ("sink", 1 + 2 * WIDTH)}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="peers-dagster-") as tmp:
        sqlite_instance = dg.DagsterInstance.local_temp(tempdir=tmp, overrides=NO_TELEMETRY)
        configs: dict[str, dict[str, Any]] = {
            # instance=None: materialize() makes a new ephemeral instance for each call
            "memory": {"resources": {"io_manager": dg.mem_io_manager}},
            "sqlite": {"instance": sqlite_instance},
        }
        samples: dict[str, list[float]] = {
            f"{name}_{store}": [] for store in configs for name in [*shapes, "partitions"]
        }
        for repeat in range(runs + 1):  # repeat 0 is the warm-up
            for store, options in configs.items():
                for name, (assets, _count) in shapes.items():
                    started = time.perf_counter()
                    result = dg.materialize(assets, run_config=QUIET, **options)
                    elapsed = time.perf_counter() - started
                    key, value = expected[name]
                    assert result.success, name
                    assert result.output_for_node(key) == value, name
                    if repeat:
                        samples[f"{name}_{store}"].append(elapsed)
                # one instance for the 30 runs (an ephemeral one in memory)
                partition_options = (
                    {**options, "instance": dg.DagsterInstance.ephemeral()} if store == "memory" else options
                )
                first = FIRST_DAY + timedelta(days=DAYS * repeat)  # fresh days every repeat
                started = time.perf_counter()
                for day in range(DAYS):
                    key = (first + timedelta(days=day)).isoformat()
                    result = dg.materialize([daily], partition_key=key, run_config=QUIET, **partition_options)
                    assert result.success
                elapsed = time.perf_counter() - started
                if repeat:
                    samples[f"partitions_{store}"].append(elapsed)
        sqlite_instance.dispose()
    for store in configs:
        for name, (_assets, count) in shapes.items():
            results[f"{name}_{store}"] = summary(samples[f"{name}_{store}"], count, "assets")
        results[f"partitions_{store}"] = summary(samples[f"partitions_{store}"], DAYS, "partitions")
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
                "tool": "dagster",
                "version": dg.__version__,
                "python": sys.version.split()[0],
                "runs": runs,
                "workloads": workloads,
            }
        )
    )
    _HOME.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
