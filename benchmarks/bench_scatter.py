"""Benchmark scatter/gather: keys per second on memory, SQLite and PostgreSQL, and peak RSS.

One asset scattered over N integer keys, each key's function returning its key, gathered
by a streaming sum (so the gather holds no list of results). The floor, measured in the
same run, is calling the same function directly N times; the figure is keys per second
from ``node.run`` to the gathered value (keys written, claimed, run, recorded, streamed).

- memory: an in-memory node (target ≥ 20,000 keys/s);
- SQLite: a node on a fresh SQLite file (target ≥ 2,000 keys/s);
- PostgreSQL: 4 worker threads of one node, and 4 processes sharing one scatter (the
  later three adopt the first's barrier), on a fresh database (target ≥ 2,000 keys/s);
  skipped when no server answers at ``FLOWSTONE_TEST_POSTGRES_URL``;
- peak RSS of a process scattering 10,000 / 100,000 / 1,000,000 keys on SQLite (target:
  1,000,000 ≤ 1.5× 10,000: keys are read lazily and results streamed). ``--quick``
  stops at 100,000.

Usage::

    .venv/bin/python benchmarks/bench_scatter.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

POSTGRES_URL = os.environ.get(
    "FLOWSTONE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGETS = {"memory": 20_000.0, "sqlite": 2_000.0, "postgres": 2_000.0}


def identity(ctx: Any) -> Any:
    return ctx.scatter_key


def streaming_sum(ctx: Any, results: Any) -> int:
    return sum(v for _, v in results)


def pipeline(keys: int) -> fs.Pipeline:
    p = fs.Pipeline(f"bench_{uuid.uuid4().hex[:6]}")
    p.asset(scatter=fs.Scatter(keys=lambda ctx: range(keys), gather=streaming_sum))(_named("fanout"))
    return p


def _named(name: str) -> Any:
    def fanout(ctx: Any) -> Any:
        return ctx.scatter_key

    fanout.__name__ = name
    return fanout


def keys_per_second(url: str | None, keys: int, workers: int = 4) -> float:
    with fs.start(database_url=url, max_concurrency=workers) as node:
        started = time.perf_counter()
        value = node.run(pipeline(keys), "fanout")
        elapsed = time.perf_counter() - started
    assert value == keys * (keys - 1) // 2, value
    return keys / elapsed


def floor_per_second(keys: int) -> float:
    class Ctx:
        scatter_key = 0

    ctx = Ctx()
    started = time.perf_counter()
    for key in range(keys):
        ctx.scatter_key = key
        identity(ctx)
    return keys / (time.perf_counter() - started)


def fresh_postgres() -> tuple[str, Any] | None:
    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"fs_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception:  # noqa: BLE001 - no server: the PostgreSQL rows are skipped
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False), drop


SHARED_CHILD = """
import logging, sys, time, structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
import flowstone as fs
keys = int(sys.argv[2])
p = fs.Pipeline("shared")
@p.asset(scatter=fs.Scatter(keys=lambda ctx: range(keys), gather=lambda ctx, r: sum(v for _, v in r)))
def fanout(ctx):
    return ctx.scatter_key
with fs.start(database_url=sys.argv[1], max_concurrency=4) as node:
    print(node.run(p, "fanout"))
"""


def shared_processes(url: str, keys: int, processes: int) -> float:
    """Keys per second of ``processes`` processes sharing one scatter (from the first start
    to the last exit; the later ones adopt the first's barrier once it is written)."""
    script = Path(tempfile.mkdtemp()) / "shared.py"
    script.write_text(SHARED_CHILD)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    started = time.perf_counter()
    children = [
        subprocess.Popen([sys.executable, str(script), url, str(keys)], env=env, stdout=subprocess.PIPE)
    ]
    engine = create_engine(url)
    try:
        while True:  # the others join once the first has written its barrier
            try:
                with engine.connect() as connection:
                    if connection.execute(text("SELECT count(*) FROM flowstone_scatters")).scalar_one():
                        break
            except Exception:  # noqa: BLE001 - its schema is not there yet
                pass
            time.sleep(0.01)
    finally:
        engine.dispose()
    children += [
        subprocess.Popen([sys.executable, str(script), url, str(keys)], env=env, stdout=subprocess.PIPE)
        for _ in range(processes - 1)
    ]
    for child in children:
        out, _ = child.communicate(timeout=600)
        assert child.returncode == 0
        assert int(out.split()[-1]) == keys * (keys - 1) // 2
    return keys / (time.perf_counter() - started)


RSS_CHILD = """
import logging, resource, sys, structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
import flowstone as fs
keys = int(sys.argv[2])
p = fs.Pipeline("rss")
gather = lambda ctx, r: sum(v for _, v in r)
@p.asset(scatter=fs.Scatter(keys=lambda ctx: (n for n in range(keys)), gather=gather))
def fanout(ctx):
    return ctx.scatter_key
with fs.start(database_url=sys.argv[1], max_concurrency=4) as node:
    assert node.run(p, "fanout") == keys * (keys - 1) // 2
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kib(keys: int) -> int:
    folder = Path(tempfile.mkdtemp())
    script = folder / "rss.py"
    script.write_text(RSS_CHILD)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run(
        [sys.executable, str(script), f"sqlite:///{folder / 'rss.db'}", str(keys)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    ).stdout
    return int(out.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer keys; RSS up to 100,000 keys")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=["memory", "sqlite", "postgres", "rss"],
        action="append",
        help="measure only these parts (repeatable); all by default",
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help="key counts of the RSS rows (default 10,000 / 100,000 / 1,000,000)",
    )
    args = parser.parse_args()
    parts = set(args.only or ["memory", "sqlite", "postgres", "rss"])
    keys = 20_000 if args.quick else 100_000
    sql_keys = 10_000 if args.quick else 50_000
    rows: list[tuple[str, str, str, str, str, bool]] = []
    floor = statistics.median(floor_per_second(keys) for _ in range(args.runs))

    def row(name: str, measured: float, target: float) -> None:
        rows.append(
            (
                name,
                f"{measured:,.0f} keys/s",
                f"{floor:,.0f}/s",
                f"{floor / measured:,.0f}×",
                f"≥ {target:,.0f}/s",
                measured >= target,
            )
        )

    keys_per_second(None, 1_000)  # warm-up
    if "memory" in parts:
        row(
            f"memory, {keys:,} keys",
            statistics.median(keys_per_second(None, keys) for _ in range(args.runs)),
            TARGETS["memory"],
        )
    if "sqlite" in parts:
        with tempfile.TemporaryDirectory() as folder:
            measured = [keys_per_second(f"sqlite:///{folder}/b{i}.db", sql_keys) for i in range(args.runs)]
        row(f"SQLite, {sql_keys:,} keys", statistics.median(measured), TARGETS["sqlite"])
    if "postgres" in parts:
        postgres_rows(row, sql_keys)
    if "rss" in parts:
        sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
        rss_rows(rows, sizes)
    print(f"{'metric':<58} {'ours':>16} {'floor':>14} {'ratio':>8} {'target':>14} met")
    for name, ours, floor_text, ratio, target, met in rows:
        print(f"{name:<58} {ours:>16} {floor_text:>14} {ratio:>8} {target:>14} {'yes' if met else 'NO'}")
    return 0 if all(met for *_, met in rows) else 1


def postgres_rows(row: Any, sql_keys: int) -> None:
    """Keys per second on PostgreSQL: one node with 4 worker threads, and 4 processes."""
    database = fresh_postgres()
    if database is None:
        print("PostgreSQL not reachable: its rows are skipped", file=sys.stderr)
    else:
        url, drop = database
        try:
            row(
                f"PostgreSQL, 4 worker threads, {sql_keys:,} keys",
                keys_per_second(url, sql_keys),
                TARGETS["postgres"],
            )
        finally:
            drop()
        database = fresh_postgres()
        assert database is not None
        url, drop = database
        try:
            row(
                f"PostgreSQL, 4 processes sharing one scatter, {sql_keys:,} keys",
                shared_processes(url, sql_keys, 4),
                TARGETS["postgres"],
            )
        finally:
            drop()


def rss_rows(rows: list[tuple[str, str, str, str, str, bool]], sizes: list[int]) -> None:
    """Peak RSS of a separate process per key count, and its growth smallest → largest."""
    rss = {n: peak_rss_kib(n) for n in sizes}
    growth = rss[sizes[-1]] / rss[sizes[0]]
    for n in sizes:
        rows.append((f"peak RSS, {n:,} keys (SQLite)", f"{rss[n] / 1024:.1f} MiB", "", "", "", True))
    rows.append(
        (f"RSS growth {sizes[0]:,} → {sizes[-1]:,}", f"{growth:.2f}×", "", "", "≤ 1.5×", growth <= 1.5)
    )


if __name__ == "__main__":
    sys.exit(main())
