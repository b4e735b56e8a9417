"""CPU per job, client and server, and the floors it implies, for ``bench_jobs.py`` (issue 22).

A jobs/s figure alone does not say whether a target is out of reach on this machine or
only missed. Two measurements, taken in the same run as the figure they explain:

- **CPU per job.** The client's is this process's CPU time (``time.process_time``) over
  the measured window, divided by the jobs; the server's is the CPU time of the
  PostgreSQL backends connected to the measurement's own database (a fresh one per
  figure, so other sessions' backends are not counted), read from
  ``/proc/<pid>/schedstat`` (nanoseconds on the CPU) at the start and the end of the
  window. PostgreSQL's background processes (WAL writer, checkpointer) are not counted,
  nor a backend that exits inside the window; one that connects inside it counts its
  start-up. On 2 CPUs the two together bound the rate: jobs/s ≤ CPUs / (client +
  server CPU per job); and one process's Python runs on one core at a time (the GIL):
  jobs/s ≤ 1 / client CPU per job. The lower of the two is printed as the "cap". The
  node's line also gives this process's context switches per job
  (``/proc/self/task/*/status``, live threads only): on a 2-vCPU VM each thread
  hand-off costs tens of µs of CPU, most of the node's.
- **Our batch SQL on the bare driver.** The library's own claim and ``complete_many``
  statements (their compiled text, as ``precompiled`` sends it) from 4 threads on plain
  psycopg connections, as the job table uses them (the claim on a connection with
  ``synchronous_commit = off``, the completion on a durable one) but with no FlowStone
  Python around them: the floor of the batch-claim path. Next to the lock-only
  ``SELECT … FOR UPDATE SKIP LOCKED LIMIT 10`` floor, its extra server CPU per job is the
  claim's durable ``UPDATE`` (attempt, owner, state), which fencing and rescue need.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

import flowstone as fs
from flowstone._jobs import statements
from flowstone._store.sql import precompiled, recordsets

__all__ = ["CPU", "CPUS", "BareDriver", "Meter", "cap"]

CPUS = os.cpu_count() or 1


def conninfo(url: str) -> str:
    """libpq's URL for a SQLAlchemy one (``postgresql+psycopg://…`` → ``postgresql://…``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class CPU:
    """CPU time per job over a measured window, in µs; ``server`` None off PostgreSQL."""

    client: float
    server: float | None
    switches: float = 0.0  # this process's context switches per job (its live threads')

    @property
    def total(self) -> float:
        return self.client + (self.server or 0.0)

    def __str__(self) -> str:
        server = "-" if self.server is None else f"{self.server:,.0f}"
        return f"{self.client:,.0f} + {server} µs"


def cap(cpu: CPU) -> float:
    """The jobs/s that ``cpu`` per job allows: on this machine's CPUs, client and server
    together, and for the client on one CPU (one process, one GIL: its Python runs on one
    core at a time; this is a bound from below, as part of its CPU is the kernel's and C
    code's outside the GIL)."""
    machine = CPUS / (cpu.total / 1e6) if cpu.total > 0 else float("inf")
    gil = 1e6 / cpu.client if cpu.client > 0 else float("inf")
    return min(machine, gil)


def _switches() -> int:
    """Context switches, voluntary and not, of this process's live threads so far."""
    total = 0
    for status in Path(f"/proc/{os.getpid()}/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue  # a thread that exited meanwhile
    return total


def _on_cpu_ns(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0  # exited, or no schedstat: not counted


class Meter:
    """Client and server CPU over one window: ``start()``, then ``stop(jobs)``.

    The server side asks ``pg_stat_activity`` for the backends of the measurement's
    database on a connection of its own (left out of the count); on SQLite there is no
    server and only the client is measured.
    """

    def __init__(self, url: str) -> None:
        self._db: Any = None
        if not url.startswith("sqlite"):
            self._db = psycopg.connect(conninfo(url), autocommit=True)
        self._client = 0.0
        self._server: dict[int, int] = {}
        self._switches = 0

    def _backends(self) -> dict[int, int]:
        if self._db is None:
            return {}
        rows = self._db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {pid: _on_cpu_ns(pid) for (pid,) in rows}

    def start(self) -> None:
        self._server = self._backends()
        self._switches = _switches()
        self._client = time.process_time()

    def stop(self, jobs: int) -> CPU:
        client = time.process_time() - self._client
        switches = _switches() - self._switches
        server = None
        if self._db is not None:
            now = self._backends()
            server = sum(ns - self._server.get(pid, 0) for pid, ns in now.items()) / 1e9 / jobs * 1e6
        return CPU(client / jobs * 1e6, server, switches / jobs)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


class BareDriver:
    """Our claim(``limit``) and ``complete_many`` as the compiled text ``precompiled``
    sends, on the bare driver: ``work`` is a thread's loop for ``threaded_rate``, until
    ``queue`` is empty. The connections stay open until ``close()``, after the meter has
    read their backends' CPU.

    ``node`` is only for its database's URL, dialect and schema; it runs no queues.
    """

    def __init__(self, node: fs.Node, queue: str, limit: int) -> None:
        store: Any = node.jobs.table._store
        dialect = store.engines.write.dialect
        self._claim = precompiled._compiled(statements.claim_statement("postgresql"), dialect)
        self._done = precompiled._compiled(recordsets._completion_statement(), dialect)
        self._url = conninfo(store.url)
        self._queue, self._limit = queue, limit
        self._connections: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        connection = psycopg.connect(self._url, autocommit=True)
        with self._lock:
            self._connections.append(connection)
        return connection

    def work(self, start: Callable[[], None]) -> int:
        claim_sql, claim_order, claim_fixed = self._claim
        done_sql, done_order, done_fixed = self._done
        owner = f"bare-{threading.get_ident()}"
        claims, single = self._connect(), self._connect()
        claims.execute("SET synchronous_commit = off")  # as the claims' pool (engine.py)
        queue = self._queue
        claim_params = {
            "b_queue": queue,
            "b_pause": f"pause:{queue}",
            "b_limit": self._limit,
            "b_node": owner,
        }
        claim_values = [claim_params.get(n, claim_fixed.get(n)) for n in claim_order]
        claimer, completer = psycopg.RawCursor(claims), psycopg.RawCursor(single)
        finished = 0
        start()
        while True:
            claimer.execute(claim_sql, claim_values)
            rows = claimer.fetchall()
            if not rows:
                return finished
            acks = [{"id": r[0], "attempt": r[7], "run_id": None, "clear_unique": False} for r in rows]
            done_params = {"b_jobs": json.dumps(acks), "b_node": owner}
            completer.execute(done_sql, [done_params.get(n, done_fixed.get(n)) for n in done_order])
            if len(completer.fetchall()) != len(rows):
                raise AssertionError("a bare-driver completion was partly refused")
            finished += len(rows)

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
