"""Run the same workloads in FlowStone and in Dagster, side by side, and compare the medians.

Each peer's workload script runs in its own virtual environment, one after the other (never
at the same time): ``flowstone_workloads.py`` with this interpreter (the project's venv),
``dagster_workloads.py`` with ``benchmarks/peers/.venv-dagster`` (made by ``setup.sh``,
which this script runs when the venv is missing). FlowStone's script runs before and after
the peers (it takes seconds, Dagster's minutes) and the table keeps, per workload, the
slower of its two medians, so a quiet spell on a shared machine cannot flatter FlowStone.
Each script prints one JSON line; this one prints a table of medians per asset / per
partition / per import with the ratio peer / FlowStone, checks the targets of issue 6, and
writes everything to ``benchmarks/peers/latest.json``.

Targets (issue 22; issue 6 asked 100× and 50×): FlowStone ≥ 200× faster per asset than
Dagster in memory, ≥ 150× with SQLite (both the 100-asset chain and the 1 → 100 → 1
fan-out). Exit status 1 when one is missed.

Usage::

    make bench-peers
    .venv/bin/python benchmarks/peers/run.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
PEERS = {
    # name: (label, interpreter, workload script, setup stamp or None)
    "flowstone": ("FlowStone", Path(sys.executable), HERE / "flowstone_workloads.py", None),
    "dagster": (
        "Dagster",
        HERE / ".venv-dagster" / "bin" / "python",
        HERE / "dagster_workloads.py",
        HERE / ".venv-dagster" / ".installed",
    ),
}
# (workload key, label, unit key, unit shown)
ROWS = [
    ("chain_memory", "chain 100, memory", "per_asset_ms", "ms/asset"),
    ("fan_memory", "fan 1→100→1, memory", "per_asset_ms", "ms/asset"),
    ("single_memory", "one asset, memory", "median_ms", "ms/run"),
    ("partitions_memory", "30 days, memory", "per_partition_ms", "ms/day"),
    ("chain_sqlite", "chain 100, SQLite", "per_asset_ms", "ms/asset"),
    ("fan_sqlite", "fan 1→100→1, SQLite", "per_asset_ms", "ms/asset"),
    ("single_sqlite", "one asset, SQLite", "median_ms", "ms/run"),
    ("partitions_sqlite", "30 days, SQLite", "per_partition_ms", "ms/day"),
    ("scatter_memory", "scatter 1,000 keys, memory", "per_key_ms", "ms/key"),
    ("import", "import", "median_ms", "ms"),
]
# (label, workload keys, minimum ratio peer / FlowStone)
TARGETS = [
    ("≥ 200× faster per asset than Dagster, memory (issue 22)", ("chain_memory", "fan_memory"), 200.0),
    ("≥ 150× faster per asset than Dagster, SQLite (issue 22)", ("chain_sqlite", "fan_sqlite"), 150.0),
    ("≥ 100× faster per key than Dagster's dynamic mapping, memory", ("scatter_memory",), 100.0),
]


def ensure_setup(console: Console) -> None:
    missing = [name for name, (*_rest, stamp) in PEERS.items() if stamp is not None and not stamp.exists()]
    if not missing:
        return
    console.print(
        f"[bold]peer venvs missing ({', '.join(missing)}): running setup.sh[/] (`make bench-peers` does too)"
    )
    done = subprocess.run(["bash", str(HERE / "setup.sh")], check=False)
    if done.returncode != 0:
        sys.exit(f"setup.sh failed ({done.returncode}); fix it and run `make bench-peers`")


def run_peer(console: Console, name: str, extra: list[str]) -> dict[str, Any]:
    label, python, script, _stamp = PEERS[name]
    console.print(f"running {label} workloads: {script.name} {' '.join(extra)}".rstrip())
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), str(script), *extra], check=False, capture_output=True, text=True, cwd=HERE
    )
    if done.returncode != 0:
        console.print(done.stderr[-4000:], markup=False, highlight=False)
        sys.exit(f"{script.name} failed with status {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    console.print(f"  done in {result['wall_s']:.0f} s")
    return result


def slower(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """``first`` with each workload replaced by the one of the two runs with the larger median."""
    workloads = {
        key: max(value, second["workloads"][key], key=lambda w: w["median_ms"])
        for key, value in first["workloads"].items()
    }
    return {
        **first,
        "workloads": workloads,
        "wall_s": first["wall_s"] + second["wall_s"],
        "both": [first, second],
    }


def figure(result: dict[str, Any], key: str, unit: str) -> float | None:
    workload = result["workloads"].get(key)
    return None if workload is None else float(workload[unit])


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 repeats per workload (default 7)")
    parser.add_argument("--runs", type=int, default=None, help="measured repeats per workload (≥ 5)")
    args = parser.parse_args(argv)
    extra = ["--quick"] if args.quick else []
    if args.runs:
        extra += ["--runs", str(args.runs)]

    console = Console()
    ensure_setup(console)
    load_before = list(os.getloadavg())
    before = run_peer(console, "flowstone", extra)
    results = {name: run_peer(console, name, extra) for name in PEERS if name != "flowstone"}
    after = run_peer(console, "flowstone", extra)
    base = slower(before, after)
    results = {"flowstone": base, **results}

    ratios: dict[str, dict[str, float | None]] = {}
    versions = ", ".join(f"{PEERS[name][0]} {result['version']}" for name, result in results.items())
    table = Table(title=f"Medians, in-process ({versions}); ratio = peer / FlowStone", box=box.SIMPLE_HEAD)
    table.add_column("workload")
    table.add_column("unit")
    table.add_column("FlowStone", justify="right")
    for name in results:
        if name != "flowstone":
            table.add_column(PEERS[name][0], justify="right")
            table.add_column("ratio", justify="right")
    for key, label, unit, shown in ROWS:
        ours = figure(base, key, unit)
        cells = [label, shown, fmt_ms(ours)]
        for name, result in results.items():
            if name == "flowstone":
                continue
            theirs = figure(result, key, unit)
            ratio = None if ours is None or theirs is None or ours <= 0 else theirs / ours
            ratios.setdefault(name, {})[key] = ratio
            cells += [fmt_ms(theirs), "–" if ratio is None else f"{ratio:,.1f}×"]
        table.add_row(*cells)
    console.print(table)

    targets = []
    missed = False
    for label, keys, minimum in TARGETS:
        measured = {key: ratios["dagster"].get(key) for key in keys}
        met = all(value is not None and value >= minimum for value in measured.values())
        missed |= not met
        targets.append({"target": label, "minimum": minimum, "ratios": measured, "met": met})
        shown = ", ".join(
            f"{key.split('_')[0]} {'–' if value is None else f'{value:,.0f}×'}"
            for key, value in measured.items()
        )
        verdict = "[green]met[/]" if met else "[red]MISSED[/]"
        console.print(f"target {label}: {shown}: {verdict}")

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1_5_15_min": {"start": load_before, "end": list(os.getloadavg())},
        },
        "quick": args.quick,
        "results": results,
        "ratios": ratios,
        "targets": targets,
    }
    console.print(
        f"load average (1 min) {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"on {os.cpu_count()} CPUs: above about 1 per CPU the figures are noisy"
    )
    out = HERE / "latest.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {out.relative_to(HERE.parents[1])}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
