"""``flowstone health``: the health of a database and of the nodes and queues on it.

It starts no node: it reads what the nodes write (their heartbeats, the jobs), so that it
never rescues, prunes, migrates or creates anything, and what it reports about ``runners``
and queues is the cluster's, not a throw-away node's. The whole survey answers within its
timeout whatever the database does: it runs in a thread of its own, and if the database
has not answered by then the store is reported down (the thread, stuck in the driver,
finishes on its own, or with the process).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from flowstone._jobs.liveness import NodeBeat, QueueState, nodes_check, queue_check
from flowstone._node.health import Check, Health, failure_detail

__all__ = ["Survey", "survey"]

Status = Literal["ok", "degraded", "down"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueReport:
    """A queue across the cluster: its jobs, and the workers of the live nodes on it."""

    state: QueueState
    workers: int
    paused: bool

    def to_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return {
            "queue": self.state.queue,
            "workers": self.workers,
            "busy": self.state.executing,
            "waiting": self.state.waiting,
            "oldest_waiting_s": rounded(self.state.oldest_waiting_s),
            "last_claim_s": rounded(self.state.last_claim_s),
            "paused": self.paused,
        }


@dataclass(frozen=True, slots=True)
class Survey:
    """``health`` (its checks: store, schema, runners, one per queue), the nodes, the queues."""

    health: Health
    nodes: list[NodeBeat] = field(default_factory=list)
    queues: list[QueueReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.health.to_dict(),
            "nodes": [beat.to_dict() for beat in self.nodes],
            "queues": [queue.to_dict() for queue in self.queues],
        }


def survey(url: str, timeout: float) -> Survey:
    """Survey the database at ``url`` within ``timeout`` seconds; never raises."""
    from flowstone._store.sql.engine import mask  # noqa: PLC0415 - SQLAlchemy loads lazily

    answer: list[Survey] = []
    worker = threading.Thread(
        target=lambda: answer.append(_survey_now(url, timeout)), name="flowstone-health", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if answer:
        return answer[0]
    detail = f"the database at {mask(url)} did not answer within {timeout:g} s"
    return Survey(Health("down", {"store": Check(False, detail, timeout * 1000)}))


def _missing_file(url: str) -> str | None:
    """Why a SQLite URL names no database, or None (checked before connecting, which
    would create the file)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database).expanduser().absolute()
    if path.is_file():
        return None
    hint = "check --database-url (a health check never creates one; a node or flowstone db upgrade does)"
    if not path.parent.is_dir():
        return f"no SQLite database at {path}: the directory {path.parent} does not exist; {hint}"
    return f"no SQLite database at {path}: the file does not exist; {hint}"


def _bounded(url: str, timeout: float) -> str:
    """The URL with a connect timeout, so that the survey's thread ends too (PostgreSQL)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query:
        return url
    seconds = str(max(2, math.ceil(timeout)))  # libpq's smallest
    return parsed.update_query_dict({"connect_timeout": seconds}).render_as_string(hide_password=False)


def _survey_now(url: str, timeout: float) -> Survey:
    try:
        missing = _missing_file(url)
        if missing is None:
            return _survey_store(url, timeout)
    except Exception as exc:  # noqa: BLE001 - reported, never raised (an unparsable URL)
        missing = failure_detail(exc)
    return Survey(Health("down", {"store": Check(False, missing)}))


def _survey_store(url: str, timeout: float) -> Survey:
    from flowstone._jobs.table import JobTable, QueuePauses  # noqa: PLC0415
    from flowstone._store.sql import SQLStore  # noqa: PLC0415
    from flowstone._store.sql.migrate import current_revision, head_revision  # noqa: PLC0415
    from flowstone.errors import SchemaVersionError  # noqa: PLC0415

    started = time.perf_counter()
    store = SQLStore(_bounded(url, timeout), auto_migrate=False)
    try:
        try:
            store.open()  # connects and pings; never migrates
            revision, head = current_revision(store.engines.read), head_revision()
        except SchemaVersionError as exc:  # the store refuses a schema it cannot use: say why
            revision, head = exc.current, exc.head
        checks = {"store": Check(True, f"answering ({_ms(started):.2f} ms)", _ms(started))}
        if revision != head:
            checks["schema"] = Check(False, _schema_problem(revision, head))
            return Survey(Health("down" if revision is None else "degraded", checks))
        checks["schema"] = Check(True, f"at {head}, the newest this FlowStone knows")
        table = JobTable(store)
        read = time.perf_counter()
        beats = table.beats()
        states = table.queue_states()
        paused = QueuePauses(table).paused()
        latency = _ms(read)
        checks["runners"] = replace(nodes_check(beats), latency_ms=latency)
        queues = _queues(beats, states, paused)
        for report in queues:
            judged = queue_check(
                report.state, workers=report.workers, busy=report.state.executing, paused=report.paused
            )
            checks[f"queue:{report.state.queue}"] = replace(judged, latency_ms=latency)
        status: Status = "ok" if all(check.ok for check in checks.values()) else "degraded"
        return Survey(Health(status, checks), beats, queues)
    except Exception as exc:  # noqa: BLE001 - a failing probe is the answer
        return Survey(Health("down", {"store": Check(False, failure_detail(exc), _ms(started))}))
    finally:
        store.close()


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _schema_problem(revision: str | None, head: str) -> str:
    if revision is None:
        return (
            "the database has no FlowStone tables (it was never migrated): run flowstone db upgrade, "
            "or start a node, which migrates it"
        )
    return (
        f"the schema is at revision {revision}, this FlowStone's newest is {head}: run flowstone db upgrade "
        "(or, if a newer FlowStone migrated it, upgrade FlowStone)"
    )


def _queues(beats: list[NodeBeat], states: dict[str, QueueState], paused: set[str]) -> list[QueueReport]:
    """Every queue with jobs or with a live worker, with the live workers' concurrency."""
    workers: dict[str, int] = {}
    for beat in beats:
        if not beat.stale:
            for name, limit in beat.queues.items():
                workers[name] = workers.get(name, 0) + limit
    names = sorted(set(states) | {name for name, limit in workers.items() if limit > 0})
    return [
        QueueReport(
            state=states.get(name, QueueState(queue=name)),
            workers=workers.get(name, 0),
            paused=name in paused,
        )
        for name in names
    ]
