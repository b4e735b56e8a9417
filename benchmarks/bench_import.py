"""Benchmark ``import flowstone``: time in fresh subprocesses, and the heaviest modules.

Each sample is a fresh interpreter: ``python -c "import flowstone"`` minus
``python -c "pass"`` (the interpreter's own start-up), run interleaved; the figure is the
median of the differences. Then ``python -X importtime -c "import flowstone"`` is run as
many times and the modules are ranked by their median self time and by the cumulative
time of the top-level packages. Peak RSS after the import (``ru_maxrss``) is shown too.

``import pykka`` (the actor library underneath) is sampled interleaved in the same run, so
the ratio ``import flowstone`` / ``import pykka`` (each minus the bare interpreter) holds
up on a loaded machine where the absolute figures do not.

Target (issue 22): ``import flowstone`` ≤ 100 ms, nothing but the definition core loaded
(issue 3 made psycopg, SQLAlchemy, alembic and rich lazy; issue 22 the node runtime).

Usage::

    .venv/bin/python benchmarks/bench_import.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0
MODULES_SNIPPET = (
    "import sys, flowstone; print(len(sys.modules), "
    "sum(m.split('.')[0] in ('flowstone', 'supervisors') for m in sys.modules))"
)
RSS_SNIPPET = "import resource, flowstone; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


CPU: dict[str, list[float]] = defaultdict(list)  # code → CPU seconds (user + sys) per sample


def wall(code: str) -> float:
    """Seconds to start a fresh interpreter and run ``code``; its CPU time goes to ``CPU``.

    CPU time is recorded beside wall time because on a loaded machine (2 CPUs shared) the
    wall figure mostly measures waiting for a CPU; the child's user + sys time does not.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), capture_output=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[code].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed


def importtime() -> dict[str, tuple[int, int]]:
    """module → (self µs, cumulative µs) from one ``-X importtime`` run."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import flowstone"],
        check=True,
        env=_env(),
        capture_output=True,
        text=True,
    )
    modules: dict[str, tuple[int, int]] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        modules[name.strip()] = (int(self_us), int(cumulative_us))
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="7 samples (default 15)")
    parser.add_argument("--runs", type=int, default=None, help="samples (at least 7)")
    args = parser.parse_args(argv)
    runs = max(7, args.runs or (7 if args.quick else 15))

    wall("import flowstone")  # warm the file cache and byte-code
    bare, full, floor = [], [], []
    for _ in range(runs):
        bare.append(wall("pass"))
        full.append(wall("import flowstone"))
        floor.append(wall("import pykka"))
    diffs = [(f - b) * 1000 for f, b in zip(full, bare, strict=True)]
    floor_diffs = [(f - b) * 1000 for f, b in zip(floor, bare, strict=True)]
    median = statistics.median(diffs)
    print(f"Python {sys.version.split()[0]}, {runs} fresh interpreters each (median)\n")
    print(f"{'python -c':<22} {'ms':>8} {'(min–max)':>17}")
    for label, samples in (("pass", bare), ("import pykka", floor), ("import flowstone", full)):
        ms = [s * 1000 for s in samples]
        print(f"{label:<22} {statistics.median(ms):>8.1f} {f'({min(ms):.1f}–{max(ms):.1f})':>17}")
    print(f"{'difference':<22} {median:>8.1f} {f'({min(diffs):.1f}–{max(diffs):.1f})':>17}")
    print(f"{'pykka difference':<22} {statistics.median(floor_diffs):>8.1f}")
    cpu = {code: statistics.median(CPU[code][1:] or CPU[code]) * 1000 for code in CPU}
    cpu_flowstone = cpu["import flowstone"] - cpu["pass"]
    cpu_pykka = cpu["import pykka"] - cpu["pass"]
    print(
        f"CPU ms (user+sys, median): pass {cpu['pass']:.1f}, import pykka {cpu['import pykka']:.1f}, "
        f"import flowstone {cpu['import flowstone']:.1f}; flowstone - pass {cpu_flowstone:.1f}, "
        f"ratio to pykka {cpu_flowstone / max(cpu_pykka, 1e-3):.1f}×"
    )
    print(f"import flowstone / bare interpreter: {statistics.median(full) / statistics.median(bare):.1f}×")
    pykka_ratio = median / max(statistics.median(floor_diffs), 1e-3)
    print(f"import flowstone / import pykka (each minus bare): {pykka_ratio:.1f}×")
    modules = subprocess.run(
        [sys.executable, "-c", MODULES_SNIPPET], check=True, env=_env(), capture_output=True, text=True
    ).stdout.split()
    print(f"modules loaded by import flowstone: {modules[0]} ({modules[1]} of flowstone and supervisors)")

    rss = subprocess.run(
        [sys.executable, "-c", RSS_SNIPPET], check=True, env=_env(), capture_output=True, text=True
    )
    print(f"peak RSS after import flowstone: {int(rss.stdout) / 1024:.1f} MiB")

    self_times: dict[str, list[int]] = defaultdict(list)
    cumulative: dict[str, list[int]] = defaultdict(list)
    for _ in range(runs):
        for name, (self_us, cumulative_us) in importtime().items():
            self_times[name].append(self_us)
            cumulative[name].append(cumulative_us)
    print(f"\nheaviest modules, -X importtime (median of {runs})")
    print(f"{'self ms':>8}  module")
    ranked = sorted(self_times, key=lambda name: statistics.median(self_times[name]), reverse=True)
    for name in ranked[:5]:
        print(f"{statistics.median(self_times[name]) / 1000:>8.2f}  {name}")
    print(f"\n{'cum. ms':>8}  top-level package (with what it imports)")
    packages = [name for name in cumulative if "." not in name and not name.startswith("_")]
    ranked = sorted(packages, key=lambda name: statistics.median(cumulative[name]), reverse=True)
    for name in ranked[:8]:
        print(f"{statistics.median(cumulative[name]) / 1000:>8.2f}  {name}")

    met = median <= TARGET_MS
    print(f"\n  target: import flowstone ≤ {TARGET_MS:g} ms → {median:.1f} ms: {'met' if met else 'MISSED'}")
    print(f"\ntargets: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
