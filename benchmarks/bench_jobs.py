"""Benchmark durable jobs: throughput, bulk enqueue and idle pick-up latency.

Throughput: N no-op jobs (default 10,000; ``--quick`` 1,000) of ``_job_pipelines:pipeline``
(asset ``noop``, default IO: values in the database) are bulk-enqueued on a paused queue
and then worked by one node with 1, 2 and 4 worker threads
(``fs.start(database_url=..., queues={"assets": n}, poll_interval=0.05)``), and by 2 worker
processes (``python -m flowstone worker --queues assets=2``, 4 slots in all), on PostgreSQL
and on SQLite. The rate is N over the database-clock window from the first claim
(``min(attempted_at)``) to the last completion (``max(completed_at)``); every job must end
``completed``. Each measurement gets a fresh database (``fs_bench_<hex>`` on PostgreSQL,
dropped ``WITH (FORCE)`` at the end; a temporary file on SQLite).

Floors, measured in the same run: a bare claim-and-complete loop in SQLAlchemy Core on a
scratch table, 4 threads with a connection each, one transaction per claim:
``SELECT … FOR UPDATE SKIP LOCKED LIMIT k`` then ``UPDATE … state='completed'`` (k = 1, 4
and 10; on SQLite the same under ``BEGIN IMMEDIATE``, without ``FOR UPDATE``). k = 4 is the
k-claim floor of the 4-worker node, which claims for all its free workers in one statement
and never more (issue 22), so its row is also shown against it. Between the floor
and a node sits the library's own job SQL alone: ``JobTable.claim(k)`` + ``complete`` per
job from 4 threads, no materialization; and on PostgreSQL that SQL again (claim(10) and
``complete_many``) on the bare psycopg driver, the batch-claim path's own floor
(``_jobs_floors.BareDriver``). Each of these rows, and each node's, shows its CPU per job,
this process's and the PostgreSQL backends' (``_jobs_floors.Meter``), and the 4-worker
node's CPU gives a cap: jobs/s ≤ CPUs / (client + server CPU per job), and ≤ 1 / client CPU
per job (one process's Python on one core at a time). A missed target
prints the floor measured in the same run and what it says, under the table.

Enqueue: jobs/s through ``node.jobs.table.insert_many`` in batches of 1,000, and the
enqueue phase of ``node.backfill(..., durable=True)`` (start of the call to the last
``insert_many`` returning), with and without ``force=True`` (without it, every partition
is first checked for a stored value).

Latency: from ``submit`` to the asset starting (the ``stamp`` asset appends
``time.perf_counter()`` to a list in this process), one job at a time, spaced apart, on an
idle node with one worker and the default ``poll_interval`` (1 s, so polling cannot hide a
missed wake-up). On PostgreSQL the submit comes from a second node in the process that
runs no queues, so only LISTEN/NOTIFY can wake the worker (and, for comparison, from the
worker's own node: the in-process wake); on SQLite from the worker's node (in-process wake).

Targets (issue 5): ≥ 2,000 jobs/s at 4 workers on PostgreSQL and ≥ 0.65× the LIMIT-1 floor;
bulk enqueue ≥ 10,000 jobs/s; idle pick-up median ≤ 20 ms on PostgreSQL (NOTIFY); a
batch-claim path ≥ 10,000 jobs/s (here: the job table with claim(10)). The exit status is 1
when a target is missed.

Profile: when a target is missed, unless ``--no-profile``, ``fs.testing.drain`` of
``--profile-jobs`` jobs (300) on PostgreSQL is examined in-process: wall and CPU per job;
every SQL statement grouped by transaction (SQLAlchemy events); round trips per job from
libpq's protocol trace; ``node.run`` of the same asset for comparison; cProfile of every
thread on thread CPU time, by step and by kind; and bulk enqueue under cProfile, with the
same rows inserted by other means. The hooks live in this script; the library is not changed.

Usage::

    .venv/bin/python benchmarks/bench_jobs.py [--quick] [--jobs N] [--samples K]
        [--floor-rounds R] [--profile-jobs P] [--no-profile] [--no-sqlite] [--no-postgres]
        [--pg-url URL]

PostgreSQL: ``--pg-url`` or ``FLOWSTONE_BENCH_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), a role allowed to create databases.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import logging
import os
import pstats
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run from a checkout
sys.path.insert(0, str(HERE))  # the jobs' pipeline module, importable by reference

import _job_pipelines  # noqa: E402
from _databases import pg_database, sqlite_database  # noqa: E402
from _jobs_floors import CPU, CPUS, BareDriver, Meter, cap  # noqa: E402

import flowstone as fs  # noqa: E402
from flowstone._jobs.table import NewJob  # noqa: E402
from flowstone._store.sql.schema import jobs as jobs_table  # noqa: E402
from flowstone._store.sql.schema import nodes as nodes_table  # noqa: E402

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

PG_URL = os.environ.get("FLOWSTONE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
THREADS = (1, 2, 4)
PROCESSES = 2
PROCESS_THREADS = 2  # slots per worker process: 4 in all, as the 4-thread node
FLOOR_THREADS = 4
#: LIMIT 1: one job per claim; LIMIT 4: the k-claim floor of a 4-worker node, which claims
#: for all its free workers at once (never more: no job is held without a free worker);
#: LIMIT 10: the batch-claim path's.
FLOOR_LIMITS = (1, 4, 10)
NODE_CLAIM = 4
BATCH = 1000
TERMINAL = ("completed", "discarded", "cancelled")

TARGET_RATE = 2_000.0
TARGET_FLOOR_RATIO = 0.65
TARGET_ENQUEUE = 10_000.0
TARGET_BATCH_CLAIM = 10_000.0
TARGET_LATENCY_MS = 20.0


# --- databases -----------------------------------------------------------------------
def database(backend: str, pg_url: str) -> contextlib.AbstractContextManager[str]:
    return pg_database(pg_url) if backend == "postgresql" else sqlite_database("jobs")


def pg_reachable(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - collected and checked below
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


def observer(url: str) -> Engine:
    """A separate engine for the benchmark's own reads (progress, timings)."""
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url)


# --- jobs ------------------------------------------------------------------------------
def new_jobs(count: int, first: int = 0, asset: str = "noop", queue: str = "assets") -> list[NewJob]:
    """Rows as ``node.submit`` would build them (pipeline reference, retry options, priority 0)."""
    retry = dataclasses.asdict(fs.NodeConfig().job_retry)  # the node default
    return [
        NewJob(
            queue=queue,
            pipeline_ref="_job_pipelines:pipeline",
            pipeline=_job_pipelines.pipeline.name,
            asset=asset,
            partition_key=fs.partitions.serialize(i),
            options={"force": False, "retry": retry},
            priority=0,
            max_attempts=5,
        )
        for i in range(first, first + count)
    ]


def enqueue(node: fs.Node, batch: list[NewJob]) -> float:
    """Insert ``batch`` through ``insert_many`` in chunks of 1,000; the seconds it took."""
    started = time.perf_counter()
    for start in range(0, len(batch), BATCH):
        node.jobs.table.insert_many(batch[start : start + BATCH])
    return time.perf_counter() - started


def _moment(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value[:26])
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def wait_all_done(engine: Engine, count: int, timeout: float) -> dict[str, int]:
    """Poll until ``count`` jobs ended; their counts per state."""
    deadline = time.monotonic() + timeout
    state = jobs_table.c.state
    while True:
        with engine.connect() as c:
            states = dict(c.execute(select(state, func.count()).group_by(state)).all())
        if sum(states.get(s, 0) for s in TERMINAL) >= count:
            return {k: int(v) for k, v in states.items()}
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs not done after {timeout:.0f} s: {states}")
        time.sleep(0.1)


def db_window_rate(engine: Engine, count: int) -> float:
    """``count`` over the database-clock window first claim → last completion."""
    columns = jobs_table.c
    with engine.connect() as c:
        first, last = c.execute(select(func.min(columns.attempted_at), func.max(columns.completed_at))).one()
    seconds = (_moment(last) - _moment(first)).total_seconds()
    return count / max(seconds, 1e-3)


def check_completed(states: dict[str, int], count: int, what: str) -> None:
    if states.get("completed", 0) != count:
        raise AssertionError(f"{what}: expected {count} completed jobs, got {states}")


# --- node throughput -----------------------------------------------------------------
def node_rate(url: str, threads: int, count: int) -> tuple[float, CPU]:
    """Jobs/s of one node with ``threads`` workers over ``count`` queued no-op jobs, and
    its CPU per job from the resume to the last job done (``_jobs_floors.Meter``)."""
    node = fs.start(
        name=f"bench-jobs-{threads}", database_url=url, queues={"assets": threads}, poll_interval=0.05
    )
    engine = observer(url)
    meter = Meter(url)
    try:
        node.jobs.pause("assets")
        enqueue(node, new_jobs(count))
        meter.start()
        node.jobs.resume("assets")
        states = wait_all_done(engine, count, timeout=60 + count / 10)
        cpu = meter.stop(count)
        check_completed(states, count, f"{threads} threads")
        return db_window_rate(engine, count), cpu
    finally:
        meter.close()
        node.stop()
        engine.dispose()


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    env.pop("FLOWSTONE_DATABASE_URL", None)
    return env


def processes_rate(url: str, count: int, log_dir: Path) -> float:
    """Jobs/s of ``PROCESSES`` worker processes (``PROCESS_THREADS`` slots each)."""
    enqueuer = fs.start(name="bench-jobs-enqueue", database_url=url)  # migrates; runs no queues
    engine = observer(url)
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for i in range(PROCESSES):
            log_file = (log_dir / f"worker-{i}.log").open("wb")
            logs.append(log_file)
            command = [
                sys.executable,
                "-m",
                "flowstone",
                "worker",
                "--queues",
                f"assets={PROCESS_THREADS}",
                "--database-url",
                url,
                "--import",
                "_job_pipelines",
            ]
            procs.append(
                subprocess.Popen(command, env=worker_env(), stdout=log_file, stderr=log_file, cwd=str(HERE))
            )
        deadline = time.monotonic() + 60
        while True:  # both workers heartbeat: they are up and polling
            with engine.connect() as c:
                up = c.execute(
                    select(func.count()).select_from(nodes_table).where(nodes_table.c.name == "worker")
                ).scalar()
            if up >= PROCESSES:
                break
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a worker exited early (code {proc.returncode}); see {log_dir}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers did not start within 60 s; see {log_dir}")
            time.sleep(0.1)
        enqueue(enqueuer, new_jobs(count))
        states = wait_all_done(engine, count, timeout=60 + count / 10)
        check_completed(states, count, f"{PROCESSES} processes")
        return db_window_rate(engine, count)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log_file in logs:
            log_file.close()
        enqueuer.stop()
        engine.dispose()


# --- floors ----------------------------------------------------------------------------
def scratch_table() -> Table:
    metadata = MetaData()
    return Table(
        "bench_floor_jobs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("queue", Text, nullable=False),
        Column("state", Text, nullable=False),
        Column("args", Text, nullable=False),
        Column("attempt", Integer, nullable=False),
        Column("max_attempts", Integer, nullable=False),
        Column("scheduled_at", DateTime(timezone=True), nullable=False),
        Column("attempted_at", DateTime(timezone=True)),
        Column("completed_at", DateTime(timezone=True)),
        Column("inserted_at", DateTime(timezone=True), nullable=False),
        Index("ix_bench_floor_fetch", "queue", "state", "scheduled_at"),
    )


def floor_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=FLOOR_THREADS + 1)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=8)

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            dbapi.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def fill_floor(engine: Engine, table: Table, count: int) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    with engine.begin() as c:
        c.execute(table.delete())
        rows = [
            {
                "queue": "default",
                "state": "available",
                "args": f'{{"n": {i}}}',
                "attempt": 0,
                "max_attempts": 20,
                "scheduled_at": now,
                "inserted_at": now,
            }
            for i in range(count)
        ]
        for start in range(0, count, 5000):
            c.execute(insert(table), rows[start : start + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE bench_floor_jobs"))


def floor_rate(engine: Engine, table: Table, count: int, limit: int, meter: Meter) -> tuple[float, CPU]:
    """Jobs/s of ``FLOOR_THREADS`` threads claiming ``limit`` at a time and completing them."""
    fill_floor(engine, table, count)
    pg = engine.dialect.name == "postgresql"
    now = func.now() if pg else func.strftime("%Y-%m-%d %H:%M:%f", "now")
    claim = (
        select(table.c.id)
        .where(table.c.queue == "default", table.c.state == "available", table.c.scheduled_at <= now)
        .order_by(table.c.scheduled_at)
        .limit(limit)
    )
    if pg:
        claim = claim.with_for_update(skip_locked=True)

    def work(start: Callable[[], None]) -> int:
        finished = 0
        with engine.connect() as conn:
            start()
            while True:
                with conn.begin():
                    ids = conn.execute(claim).scalars().all()
                    if not ids:
                        return finished
                    # the job itself: a no-op
                    conn.execute(
                        update(table)
                        .where(table.c.id.in_(ids))
                        .values(state="completed", attempt=table.c.attempt + 1, completed_at=now)
                    )
                finished += len(ids)

    return threaded_rate(work, count, "floor", meter)


def threaded_rate(
    work: Callable[[Callable[[], None]], int], count: int, what: str, meter: Meter
) -> tuple[float, CPU]:
    """Jobs/s of ``FLOOR_THREADS`` threads running ``work(start)``, timed from the moment all
    have called ``start()`` to the last one returning; each returns how many it completed.
    And the CPU per job over the same window."""
    done = [0] * FLOOR_THREADS
    barrier = threading.Barrier(FLOOR_THREADS + 1)

    def run(slot: int) -> None:
        done[slot] = work(barrier.wait)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(FLOOR_THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    meter.start()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = meter.stop(count)
    if sum(done) != count:
        raise AssertionError(f"{what} completed {sum(done)} of {count}")
    return count / elapsed, cpu


def floors(url: str, count: int, rounds: int) -> dict[int, tuple[float, CPU]]:
    """Median floor rate, and median CPU per job, for each of ``FLOOR_LIMITS`` over
    ``rounds`` interleaved rounds."""
    engine = floor_engine(url)
    table = scratch_table()
    table.metadata.create_all(engine)
    meter = Meter(url)
    rates: dict[int, list[tuple[float, CPU]]] = {limit: [] for limit in FLOOR_LIMITS}
    try:
        for _ in range(rounds):
            for limit, values in rates.items():
                values.append(floor_rate(engine, table, count, limit, meter))
    finally:
        meter.close()
        engine.dispose()
    return {limit: median_of(values) for limit, values in rates.items()}


def median_of(values: list[tuple[float, CPU]]) -> tuple[float, CPU]:
    """The median rate, and the medians of client and server CPU per job, each on its own."""
    servers = [cpu.server for _, cpu in values if cpu.server is not None]
    return statistics.median(rate for rate, _ in values), CPU(
        statistics.median(cpu.client for _, cpu in values), statistics.median(servers) if servers else None
    )


def table_rate(url: str, count: int, limit: int) -> tuple[float, CPU]:
    """Jobs/s of the library's own claim + fenced complete, 4 threads, no materialization."""
    node = fs.start(name="bench-jobs-table", database_url=url)  # runs no queues
    meter = Meter(url)
    try:
        table = node.jobs.table
        enqueue(node, new_jobs(count, queue="table"))
        warm_pools(node)

        def work(start: Callable[[], None]) -> int:
            finished = 0
            start()
            while True:
                claimed = table.claim("table", "bench-table-node", limit)
                if not claimed:
                    return finished
                if limit == 1:
                    for job in claimed:
                        if not table.complete(job, "bench-table-node", None):
                            raise AssertionError(f"ack of job {job.id} was rejected")
                elif len(table.complete_many(claimed, "bench-table-node")) != len(claimed):
                    raise AssertionError("a batch ack was partly rejected")
                finished += len(claimed)

        return threaded_rate(work, count, "table path", meter)
    finally:
        meter.close()
        node.stop()


def warm_pools(node: fs.Node) -> None:
    """Open a connection per thread in the pools a claim and a completion use, before
    the clock starts, as the floors' threads connect before theirs: otherwise a quick
    run's window holds up to eight connection start-ups (client and server CPU, and
    milliseconds each), which a worker pays once, not per job."""
    engines = node.jobs.table._store.engines
    for engine in {engines.claims, engines.single}:
        held = [engine.raw_connection() for _ in range(FLOOR_THREADS)]
        for connection in held:
            connection.close()  # back to the pool, which keeps it


def bare_rate(url: str, count: int, limit: int) -> tuple[float, CPU]:
    """Jobs/s of our claim(``limit``) + ``complete_many`` SQL on the bare driver, 4 threads
    (``_jobs_floors.BareDriver``): the batch-claim path's floor."""
    node = fs.start(name="bench-jobs-bare", database_url=url)  # migrates; runs no queues
    meter = Meter(url)
    bare = BareDriver(node, "bare", limit)
    try:
        enqueue(node, new_jobs(count, queue="bare"))
        return threaded_rate(bare.work, count, "bare driver", meter)
    finally:
        bare.close()
        meter.close()
        node.stop()


# --- enqueue ---------------------------------------------------------------------------
def insert_many_rate(url: str, count: int) -> float:
    node = fs.start(name="bench-jobs-enqueue", database_url=url)
    try:
        batch = new_jobs(count)  # built before the clock starts
        return count / enqueue(node, batch)
    finally:
        node.stop()


def backfill_enqueue_rate(url: str, count: int, *, force: bool) -> float:
    """The enqueue phase of ``node.backfill(durable=True)``: call → last ``insert_many``."""
    node = fs.start(name="bench-jobs-backfill", database_url=url)  # runs no queues: jobs wait
    table = node.jobs.table
    real = table.insert_many
    inserted = [0]
    last = [0.0]
    all_in = threading.Event()

    def timed_insert_many(batch: Any) -> list[int]:
        ids = real(batch)
        inserted[0] += len(ids)
        last[0] = time.perf_counter()
        if inserted[0] >= count:
            all_in.set()
        return ids

    table.insert_many = timed_insert_many  # type: ignore[method-assign]  # this instance only
    engine = observer(url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            node.backfill(_job_pipelines.pipeline, "noop", range(count), durable=True, force=force)
        except BaseException as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)

    try:
        started = time.perf_counter()
        thread = threading.Thread(target=run, name="bench-backfill")
        thread.start()
        if not all_in.wait(timeout=120 + count / 100) or errors:
            raise RuntimeError(f"backfill enqueue did not finish: {errors}")
        elapsed = last[0] - started
        with engine.begin() as c:  # end the backfill: it follows its jobs until they end
            c.execute(
                update(jobs_table)
                .where(jobs_table.c.state.not_in(TERMINAL))
                .values(state="cancelled", cancelled_at=datetime.now(UTC))
            )
        thread.join(timeout=30)
        return count / elapsed
    finally:
        engine.dispose()
        node.stop()


# --- latency ---------------------------------------------------------------------------
def pickup_latencies(
    url: str, samples: int, *, via_notify: bool, spacing: float = 0.03
) -> tuple[float, float]:
    """Median and p99 in ms from ``submit`` to the ``stamp`` asset starting, when idle."""
    worker = fs.start(name="bench-latency-worker", database_url=url, queues={"assets": 1})
    submitter = fs.start(name="bench-latency-submit", database_url=url) if via_notify else worker
    starts = _job_pipelines.STARTS
    latencies: list[float] = []
    try:
        warmup = 5
        for i in range(warmup + samples):
            time.sleep(spacing)
            before = len(starts)
            t0 = time.perf_counter()
            submitter.submit(_job_pipelines.pipeline, "stamp", partition=i)
            deadline = t0 + 5.0
            while len(starts) == before:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"job {i} was not picked up within 5 s")
                time.sleep(0.0002)
            if i >= warmup:
                latencies.append((starts[before] - t0) * 1000)
            time.sleep(0.02)  # let the job finish: the next submit finds the worker idle
    finally:
        if submitter is not worker:
            submitter.stop()
        worker.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    return statistics.median(latencies), p99


# --- profile ---------------------------------------------------------------------------
_TABLE = re.compile(r"\b(?:INTO|UPDATE|FROM)\s+(\w+)", re.IGNORECASE)
_CTE_UPDATE = re.compile(r"\bUPDATE\s+(\w+)\s+SET\b", re.IGNORECASE)

#: What each transaction shape of one job is, and who runs it.
_SHAPES = {
    "WITH … UPDATE jobs": "claim (producer / drain thread)",
    "SELECT materializations": "is_done: latest materialization (plan_run)",
    "INSERT runs; INSERT materializations; INSERT audit_log": "start_run: run, pending record, audit",
    "UPDATE materializations": "runner marks the record running",
    "UPDATE materializations; INSERT values; UPDATE runs; INSERT audit_log": (
        "runner: completed + value + run closed + audit"
    ),
    "UPDATE jobs": "job ack: fenced complete",
}


def _statement(sql: str) -> str:
    words = sql.split()
    verb = words[0].upper() if words else "?"
    if verb == "WITH":
        tables = _CTE_UPDATE.findall(sql)
        verb = "WITH … UPDATE" if tables else verb
    else:
        tables = _TABLE.findall(sql)
    target = tables[0] if tables else ""
    return f"{verb} {target.replace('flowstone_', '')}".strip()


class SQLTrace:
    """Every statement grouped by transaction (first statement → connection checked in)."""

    def __init__(self, engines: list[Engine]) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, tuple[float, list[str]]] = {}
        self.transactions: list[tuple[tuple[str, ...], float]] = []
        self.statements = 0
        self._engines = list({id(e): e for e in engines}.values())
        for engine in self._engines:
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "checkin", self._checkin)

    def close(self) -> None:
        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._before)
            event.remove(engine, "checkin", self._checkin)

    def _before(self, conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        key = id(conn.connection.dbapi_connection)
        with self._lock:
            _started, statements = self._open.setdefault(key, (time.perf_counter(), []))
            if not sql.startswith("BEGIN"):
                self.statements += 1
                statements.append(_statement(sql))

    def _checkin(self, dbapi_connection: Any, _record: Any) -> None:
        with self._lock:
            opened = self._open.pop(id(dbapi_connection), None)
        if opened is not None and opened[1]:
            self.transactions.append((tuple(opened[1]), time.perf_counter() - opened[0]))

    def report(self, count: int) -> list[str]:
        shapes: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for statements, seconds in self.transactions:
            shapes[statements].append(seconds)
        total = sum(seconds for _s, seconds in self.transactions)
        lines = [
            f"  SQL per job: {len(self.transactions) / count:.2f} transactions, "
            f"{self.statements / count:.2f} statements, {total * 1000 / count:.2f} ms inside transactions "
            "(checkout → checkin, commit included)"
        ]
        for statements, times in sorted(shapes.items(), key=lambda kv: -sum(kv[1])):
            if len(times) < count / 20:
                continue  # background upkeep (heartbeat, rescue, prune)
            shape = "; ".join(f"{n}× {s}" if n > 1 else s for s, n in Counter(statements).items())
            label = _SHAPES.get(shape, "")
            lines.append(
                f"    {len(times) / count:4.2f} × {statistics.mean(times) * 1000:5.2f} ms  {shape}"
                + (f"  ← {label}" if label else "")
            )
        return lines


_WAITING = "waiting"


def _category(key: tuple[str, int, str]) -> str:
    path, _line, name = key
    if path == "~":
        if "sqlite3" in name:
            return "sqlite3 (C: execute, commit)"
        if ("_queue" in name and "get" in name) or "acquire" in name or "time.sleep" in name:
            return _WAITING
        return "builtins (json, str, re, ...)"
    for part, label in (
        ("psycopg", "psycopg (driver: protocol, adaptation)"),
        ("sqlalchemy", "SQLAlchemy Core (compile, execute, pool, rows)"),
        ("structlog", "structlog"),
        ("/pykka/", "pykka"),
        ("/supervisors/", "supervisors"),
        ("/flowstone/", "flowstone"),
    ):
        if part in path:
            return label
    if path.endswith(("threading.py", "queue.py")):
        return _WAITING
    return "stdlib (other)"


def _breakdown(stats: pstats.Stats, count: int, top: int) -> list[str]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    per_job = 1000 / count
    buckets: dict[str, float] = defaultdict(float)
    for key, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        buckets[_category(key)] += tottime
    lines = ["  CPU per job by kind (cProfile on thread CPU time, all threads; profiler overhead included):"]
    for label, seconds in sorted(buckets.items(), key=lambda kv: -kv[1]):
        if label != _WAITING and seconds * per_job >= 0.005:
            lines.append(f"    {seconds * per_job:7.3f} ms  {label}")
    busy = [(v[2], v[1], k) for k, v in raw.items() if _category(k) != _WAITING]
    lines.append(f"  top {top} functions by own CPU time per job (calls per job):")
    for tottime, calls, (path, line, name) in sorted(busy, reverse=True)[:top]:
        where = name if path == "~" else f"{Path(path).parent.name}/{Path(path).name}:{line} {name}"
        per = f"{calls / count:6.1f}" if calls >= count else f"{calls}×"
        lines.append(f"    {tottime * per_job:6.3f} ms  {per:>6}  {where}")
    return lines


#: (file suffix, function) → what it is, for the per-step CPU listing.
_STEPS = (
    ("_jobs/execute.py", "execute_job", "execute_job: one job, from claimed to acked (drain thread)"),
    ("_jobs/table.py", "claim", "  JobTable.claim (1 transaction)"),
    ("_jobs/wiring.py", "resolve", "  resolve the pipeline reference (registry actor ask)"),
    ("_execution/run.py", "run_target", "  run_target: plan + scheduler + wait for the runner"),
    ("_node/services.py", "is_done", "    is_done → store.latest (1 transaction)"),
    ("_store/sql/store.py", "start_run", "    store.start_run (1 transaction)"),
    ("_execution/attempt.py", "attempt", "    runner: attempt (runner thread)"),
    ("_store/sql/store.py", "mark_running", "      store.mark_running (1 transaction)"),
    ("_store/sql/store.py", "complete", "      store.complete + value (1 transaction)"),
    ("_jobs/table.py", "_ack", "  JobTable.complete, fenced ack (1 transaction)"),
)


def _steps(stats: pstats.Stats, count: int) -> list[str]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    lines = ["  CPU per job by step (cumulative, thread CPU time under cProfile):"]
    for suffix, name, label in _STEPS:
        cumulative = sum(v[3] for k, v in raw.items() if k[0].endswith(suffix) and k[2] == name)
        calls = sum(v[1] for k, v in raw.items() if k[0].endswith(suffix) and k[2] == name)
        if calls:
            lines.append(f"    {cumulative * 1000 / count:6.2f} ms  {label}")
    return lines


def round_trips(url: str, count: int) -> list[str]:
    """PostgreSQL round trips per job, counted in libpq's protocol trace (ReadyForQuery)."""
    node = fs.start(name="bench-jobs-libpq-trace", database_url=url)
    directory = Path(tempfile.mkdtemp(prefix="fs_bench_libpq_"))
    traced: dict[int, tuple[Any, int]] = {}  # one trace file per connection: no interleaving

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if id(dbapi_connection) not in traced:
            handle = os.open(directory / f"{len(traced)}.trace", os.O_WRONLY | os.O_CREAT)
            traced[id(dbapi_connection)] = (dbapi_connection, handle)
            dbapi_connection.pgconn.trace(handle)

    engines = node._store.engines  # type: ignore[attr-defined]
    distinct = list({id(e): e for e in (engines.read, engines.write)}.values())
    try:
        enqueue(node, new_jobs(count, first=100_000))
        for engine in distinct:
            event.listen(engine, "checkout", on_checkout)
        fs.testing.drain(node, "assets")
        for engine in distinct:
            event.remove(engine, "checkout", on_checkout)
        for connection, _handle in traced.values():
            connection.pgconn.untrace()  # flushes the trace
    finally:
        node.stop()
        for _connection, handle in traced.values():
            with contextlib.suppress(OSError):
                os.close(handle)
    kinds: Counter[str] = Counter()
    for path in directory.iterdir():
        with path.open(encoding="utf-8", errors="replace") as trace:
            for line in trace:
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 4:
                    continue
                direction, message = fields[1], fields[3]  # time, F/B, length, message, payload
                if direction == "B" and message == "ReadyForQuery":
                    kinds["round trips"] += 1
                elif direction == "F" and message == "Query":
                    sql = fields[4].strip().strip('"').strip() if len(fields) > 4 else ""
                    kinds[sql.split()[0].upper() if sql.strip(";") else "ping (empty query)"] += 1
                elif direction == "F" and message == "Sync":
                    kinds["statements (extended protocol)"] += 1
        path.unlink()
    directory.rmdir()
    parts = ", ".join(f"{v / count:.1f} {k}" for k, v in kinds.most_common() if k != "round trips")
    return [
        f"  PostgreSQL round trips per job (libpq trace, ReadyForQuery): "
        f"{kinds['round trips'] / count:.1f} = {parts}",
        "    (the empty-query ping is pool_pre_ping=True, once per checkout, i.e. per transaction)",
    ]


def profile_jobs(url: str, count: int) -> list[str]:
    """Where a job's time goes: a drain of ``count`` jobs, one at a time, traced and profiled."""
    profilers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def hook(*_args: Any) -> None:  # first event in each new thread: profile it from there on
        profiler = cProfile.Profile(time.thread_time)
        with lock:
            profilers.append(profiler)
        profiler.enable()

    # 1. Plain: wall, CPU and the SQL trace, on a node whose threads are not profiled.
    node = fs.start(name="bench-jobs-trace", database_url=url)  # runs no queues: drain does
    try:
        enqueue(node, new_jobs(count))
        engines = node._store.engines  # type: ignore[attr-defined]
        trace = SQLTrace([engines.read, engines.write])
        wall0, cpu0 = time.perf_counter(), time.process_time()
        outcome = fs.testing.drain(node, "assets")
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        trace.close()
    finally:
        node.stop()
    if outcome.get("completed") != count:
        raise AssertionError(f"profile drain: {outcome}")
    pings = "postgresql" in url
    lines = [
        f"job execution: fs.testing.drain of {count} jobs, one at a time (no profiler): "
        f"{wall * 1000 / count:.2f} ms wall, {cpu * 1000 / count:.2f} ms CPU (all threads) per job",
        *trace.report(count),
    ]
    if pings:
        lines.extend(round_trips(url, min(count, 50)))
    # The same materializations through node.run, without the job layer around them.
    node = fs.start(name="bench-jobs-run", database_url=url)
    try:
        node.run(_job_pipelines.pipeline, "noop", partition=-1)  # warm up
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(count):
            node.run(_job_pipelines.pipeline, "noop", partition=200_000 + i)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        node.stop()
    lines.append(
        f"  for comparison, node.run of the same no-op (no job layer): {wall * 1000 / count:.2f} ms wall, "
        f"{cpu * 1000 / count:.2f} ms CPU per call"
    )
    # 2. Under cProfile timing thread CPU time, every thread of the node (actor threads included).
    threading.setprofile(hook)
    try:
        node = fs.start(name="bench-jobs-profile", database_url=url)
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
    main = cProfile.Profile(time.thread_time)
    try:
        enqueue(node, new_jobs(count, first=300_000))
        main.enable()
        fs.testing.drain(node, "assets")
        main.disable()
    finally:
        node.stop()
    stats = pstats.Stats(main)
    for profiler in profilers:
        with contextlib.suppress(Exception):  # a thread that never ran Python code
            stats.add(profiler)
    lines.extend(_steps(stats, count))
    lines.extend(_breakdown(stats, count, 14))
    # 3. Bulk enqueue under cProfile.
    node = fs.start(name="bench-jobs-enqueue-profile", database_url=url)
    try:
        size = 5 * BATCH
        batch = new_jobs(size, first=400_000)
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        seconds = enqueue(node, batch)
        profiler.disable()
    finally:
        node.stop()
    lines.append(
        f"bulk enqueue: insert_many of {size} jobs in batches of {BATCH} under cProfile (CPU time): "
        f"{size / seconds:,.0f} jobs/s"
    )
    lines.extend(_breakdown(pstats.Stats(profiler), size, 6)[1:])
    lines.extend(enqueue_alternatives(url, size))
    return lines


def enqueue_alternatives(url: str, count: int) -> list[str]:
    """The same job rows inserted by other means, for comparison with ``insert_many``."""
    node = fs.start(name="bench-jobs-enqueue-alt", database_url=url)
    engine = observer(url)
    lines = ["  the same rows (JobTable._row) inserted otherwise, 1,000 per transaction:"]
    try:
        table = node.jobs.table
        first = 10**6
        for label in ("insertmanyvalues + RETURNING (as insert_many)", "executemany, no RETURNING", "unnest"):
            if label == "unnest" and engine.dialect.name != "postgresql":
                continue
            batch = new_jobs(count, first=first)
            first += count
            started = time.perf_counter()
            for start in range(0, count, BATCH):
                with engine.begin() as c:
                    stamp = datetime.now(UTC)
                    rows = [
                        {**table._row(c, job, time.time()), "state": "available"}
                        | {"inserted_at": stamp, "scheduled_at": stamp}
                        for job in batch[start : start + BATCH]
                    ]
                    if label.startswith("insertmanyvalues"):
                        returning = insert(jobs_table).returning(
                            jobs_table.c.id, sort_by_parameter_order=True
                        )
                        c.execute(returning, rows).scalars().all()
                    elif label.startswith("executemany"):
                        c.execute(insert(jobs_table), rows)
                    else:
                        c.execute(_unnest_insert(rows), {k: [r[k] for r in rows] for k in rows[0]}).all()
            lines.append(f"    {count / (time.perf_counter() - started):9,.0f} jobs/s  {label}")
    finally:
        engine.dispose()
        node.stop()
    return lines


def _unnest_insert(rows: list[dict[str, Any]]) -> Any:
    """``INSERT … SELECT unnest(:col1), unnest(:col2), … RETURNING id``: one short statement."""
    types = {"priority": "int", "attempt": "int", "max_attempts": "int", "snoozed": "int"}
    types |= {"inserted_at": "timestamptz", "scheduled_at": "timestamptz"}
    columns = list(rows[0])
    values = ", ".join(f"unnest(CAST(:{k} AS {types.get(k, 'text')}[]))" for k in columns)
    return text(f"INSERT INTO flowstone_jobs ({', '.join(columns)}) SELECT {values} RETURNING id")


# --- report ----------------------------------------------------------------------------
@dataclass
class Row:
    metric: str
    value: float | None
    unit: str
    floor: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    cpu: CPU | None = None  # per job, client + server
    why: str = ""  # for a missed target: the floor measured in this run, and what it means


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.2f} ms"
    return f"{value:,.0f}/s"


def print_table(rows: list[Row]) -> None:
    header = ("metric", "value", "floor", "ratio", "CPU/job client + server", "target", "met")
    table = [header]
    for row in rows:
        ratio = f"{row.value / row.floor:.3f}×" if row.value and row.floor else "-"
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        cpu = "-" if row.cpu is None else str(row.cpu)
        table.append(
            (
                row.metric,
                fmt(row.value, row.unit),
                fmt(row.floor, row.unit),
                ratio,
                cpu,
                row.target or "-",
                met,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * width for width in widths))


def batch_floor(rate: float, bare: tuple[float, CPU], lock_only: tuple[float, CPU]) -> str:
    """The batch-claim path's floor line: our SQL on the bare driver, and the lock-only floor."""
    (bare_rate_, bare_cpu), (lock_rate, lock_cpu) = bare, lock_only
    line = (
        f"floor in this run: our SQL on the bare driver {bare_rate_:,.0f}/s "
        f"({rate / bare_rate_:.2f}× of it), "
        f"lock-only LIMIT 10 {lock_rate:,.0f}/s"
    )
    if bare_cpu.server is not None and lock_cpu.server is not None:
        line += (
            f"; server CPU per job {bare_cpu.server:,.0f} µs against {lock_cpu.server:,.0f} µs lock-only: "
            "the difference is the claim's durable UPDATE (attempt, owner, state), "
            "which fencing and rescue need"
        )
    if bare_rate_ < TARGET_BATCH_CLAIM:
        line += f"; the bare-driver floor itself is below {TARGET_BATCH_CLAIM:,.0f}/s here"
    return line


def node_floor(rate: float, cpu: CPU, limit_k: float) -> str:
    """The node's floor line: the cap its measured CPU per job implies on this machine."""
    limit = cap(cpu)
    machine = CPUS / (cpu.total / 1e6)
    line = (
        f"floor in this run: CPU cap {limit:,.0f}/s ({rate / limit:.2f}× of it), the lower of "
        f"{CPUS} CPUs / ({cpu.client:,.0f} µs client + {cpu.server or 0:,.0f} µs server per job) = "
        f"{machine:,.0f}/s and one GIL: 1 / client = {1e6 / cpu.client:,.0f}/s; "
        f"{cpu.switches:.1f} context switches per job in this process; "
        f"LIMIT {NODE_CLAIM} floor {limit_k:,.0f}/s"
    )
    if limit < TARGET_RATE:
        return line + f"; the cap itself is below {TARGET_RATE:,.0f}/s: the node is CPU-bound on this machine"
    # A freed worker starts its next job only once the successes before it are committed
    # (a job may kill the process: docs/decisions.md, "A job that kills its process runs
    # alone"), so a cohort's Python and its commit's server work take turns, never overlap.
    serial = 1e6 / cpu.total if cpu.total > 0 else float("inf")
    line += (
        f"; commit before new work: the client's and the server's CPU per job take turns, "
        f"1 / ({cpu.client:,.0f} + {cpu.server or 0:,.0f} µs) = {serial:,.0f}/s ({rate / serial:.2f}× of it)"
    )
    if serial < TARGET_RATE:
        line += (
            f"; below {TARGET_RATE:,.0f}/s: client + server CPU per job must fall under "
            f"{1e6 / TARGET_RATE:,.0f} µs (per statement, not per job, is most of it: see benchmarks/README)"
        )
    else:
        line += (
            "; below that bound the node waits on its own thread hand-offs (a worker and "
            "the producer take turns under one GIL)"
        )
    return line


def measure(label: str, fn: Callable[[], Any]) -> Any:
    print(f"  {label} ...", end="", flush=True)
    started = time.perf_counter()
    result = fn()
    print(f" {time.perf_counter() - started:.1f} s", flush=True)
    return result


def run_backend(backend: str, args: argparse.Namespace, rows: list[Row], log_dir: Path) -> bool:
    """Measure one backend; False if a PostgreSQL target was missed."""
    n = args.jobs
    pg = backend == "postgresql"
    name = "PG" if pg else "SQLite"
    print(f"{backend}:", flush=True)
    missed = False

    def db() -> contextlib.AbstractContextManager[str]:
        return database(backend, args.pg_url)

    def in_db(fn: Callable[[str], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with db() as url:
                return fn(url)

        return call

    measured = measure(
        f"floor: claim+complete, {FLOOR_THREADS} threads, LIMIT {FLOOR_LIMITS}, "
        f"median of {args.floor_rounds}",
        in_db(lambda url: floors(url, n, args.floor_rounds)),
    )
    floor = {limit: rate for limit, (rate, _) in measured.items()}
    lock_clause = "FOR UPDATE SKIP LOCKED " if pg else "BEGIN IMMEDIATE, "
    for limit in FLOOR_LIMITS:
        rate, cpu = measured[limit]
        rows.append(Row(f"{name} floor: {lock_clause}LIMIT {limit}, 4 threads", rate, "/s", cpu=cpu))
    bare: tuple[float, CPU] | None = None
    if pg:
        bare = measure(
            "our claim(10) + complete_many SQL on the bare driver, 4 threads",
            in_db(lambda url: bare_rate(url, n, 10)),
        )
        rows.append(
            Row(f"{name} our claim(10)+complete_many SQL, bare driver", bare[0], "/s", floor[10], cpu=bare[1])
        )
    for limit in (1, 10):
        rate, cpu = measure(
            f"JobTable claim({limit}) + complete, 4 threads",
            in_db(lambda url, limit=limit: table_rate(url, n, limit)),
        )
        row = Row(f"{name} JobTable claim({limit})+complete, 4 thr", rate, "/s", floor[limit], cpu=cpu)
        if pg and limit == 10 and bare is not None:
            row.target = f"≥ {TARGET_BATCH_CLAIM:,.0f}/s (batch claim)"
            row.met = rate >= TARGET_BATCH_CLAIM
            row.why = batch_floor(rate, bare, measured[10])
            missed |= not row.met
        rows.append(row)
    for threads in THREADS:
        rate, cpu = measure(
            f"node, {threads} worker thread(s), {n} jobs", in_db(lambda url, t=threads: node_rate(url, t, n))
        )
        row = Row(f"{name} node, {threads} worker thread(s)", rate, "/s", floor[1], cpu=cpu)
        if pg and threads == 4:
            row.target = f"≥ {TARGET_RATE:,.0f}/s and ≥ {TARGET_FLOOR_RATIO}× floor"
            row.met = rate >= TARGET_RATE and rate >= TARGET_FLOOR_RATIO * floor[1]
            row.why = node_floor(rate, cpu, floor[NODE_CLAIM])
            missed |= not row.met
        rows.append(row)
        if threads == 4:  # the same rate against the floor that claims as the node does
            rows.append(
                Row(f"{name} node, 4 workers vs LIMIT {NODE_CLAIM} floor", rate, "/s", floor[NODE_CLAIM])
            )
            rows.append(Row(f"{name} node, 4 workers: CPU cap on {CPUS} CPUs", rate, "/s", cap(cpu)))
    rate = measure(
        f"{PROCESSES} worker processes × {PROCESS_THREADS} threads, {n} jobs",
        in_db(lambda url: processes_rate(url, n, log_dir)),
    )
    rows.append(Row(f"{name} {PROCESSES} processes × {PROCESS_THREADS} threads", rate, "/s", floor[1]))
    rate = measure(f"insert_many, batches of {BATCH}", in_db(lambda url: insert_many_rate(url, n)))
    row = Row(f"{name} enqueue: insert_many ×{BATCH}", rate, "/s", target=f"≥ {TARGET_ENQUEUE:,.0f}/s")
    row.met = rate >= TARGET_ENQUEUE
    missed |= pg and not row.met
    rows.append(row)
    for force in (False, True):
        rate = measure(
            f"backfill(durable=True, force={force}) enqueue phase",
            in_db(lambda url, f=force: backfill_enqueue_rate(url, n, force=f)),
        )
        rows.append(Row(f"{name} enqueue: backfill(durable, force={force})", rate, "/s"))
    cases = [(True, "LISTEN/NOTIFY"), (False, "in-process wake")] if pg else [(False, "in-process wake")]
    for via_notify, how in cases:
        median, p99 = measure(
            f"idle pick-up latency, {how}, {args.samples} submits",
            in_db(lambda url, v=via_notify: pickup_latencies(url, args.samples, via_notify=v)),
        )
        row = Row(f"{name} pick-up median, {how}", median, "ms")
        if pg and via_notify:
            row.target = f"≤ {TARGET_LATENCY_MS:.0f} ms"
            row.met = median <= TARGET_LATENCY_MS
            missed |= not row.met
        rows.append(row)
        rows.append(Row(f"{name} pick-up p99, {how}", p99, "ms"))
    return not missed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 jobs instead of 10,000")
    parser.add_argument("--jobs", type=int, help="jobs per throughput measurement")
    parser.add_argument("--samples", type=int, default=100, help="submits per latency figure (≥ 100)")
    parser.add_argument("--floor-rounds", type=int, default=3)
    parser.add_argument("--profile-jobs", type=int, default=300)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    args.jobs = args.jobs or (1_000 if args.quick else 10_000)
    backends = []
    if not args.no_postgres:
        problem = pg_reachable(args.pg_url)
        if problem is None:
            backends.append("postgresql")
        else:
            print(f"PostgreSQL skipped: {make_url(args.pg_url).render_as_string()} unreachable ({problem})")
    if not args.no_sqlite:
        backends.append("sqlite")
    print(
        f"bench_jobs: {args.jobs} jobs per throughput figure, {args.samples} latency samples, "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    rows: list[Row] = []
    all_met = True
    with tempfile.TemporaryDirectory(prefix="fs_bench_jobs_logs_") as logs:
        for backend in backends:
            all_met &= run_backend(backend, args, rows, Path(logs))
    print()
    print_table(rows)
    missed = [row.metric for row in rows if row.met is False]
    if missed:
        print(f"\ntargets missed: {'; '.join(missed)}")
        for row in rows:
            if row.met is False and row.why:
                print(f"  {row.metric}: {row.why}")
    if not all_met and "postgresql" in backends and not args.no_profile:
        print()
        print("profile (a target was missed): PostgreSQL")
        with pg_database(args.pg_url) as url:
            for line in profile_jobs(url, args.profile_jobs):
                print(line)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
