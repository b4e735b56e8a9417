"""``NodeConfig``: every option ``fs.start(**options)`` takes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowstone._node.checks import (
    check_bool,
    check_int,
    check_methods,
    check_names,
    check_seconds,
    check_text,
)
from flowstone._retry import Retry
from flowstone.io import IOManager

if TYPE_CHECKING:
    from flowstone._store import LineageStore, Store

__all__ = ["NodeConfig", "default_concurrency"]

#: What a ``store=`` must have at the least: what the node calls to open, check and close
#: it, and to record a run (a test double may leave out the rest).
_STORE_METHODS = ("open", "close", "ping", "start_run", "complete", "fail", "latest")


def default_concurrency() -> int:
    """Twice the CPU count, at least 2."""
    return max(2, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Options of a node.

    Attributes:
        name: a label for logs and the supervision tree.
        database_url: ``sqlite:///path.db`` or ``postgresql+psycopg://...`` for a durable
            store; None for memory. ``fs.start`` reads ``FLOWSTONE_DATABASE_URL`` when the
            argument is not given at all.
        auto_migrate: bring the database schema up to date when the node starts.
        max_value_bytes: the largest encoded value the node's SQL IO manager accepts
            (``fs.io.Files`` takes its own ``max_value_bytes``).
        max_concurrency: runner actors, i.e. assets materialized at once (default 2 × CPUs).
        max_parallel: the cap on a backfill's ``parallel`` (default 2 × CPUs).
        retry: the retry policy of assets without their own (default: no retry).
        lineage_failure: ``"log"`` records and reports lineage failures and carries on;
            ``"fail"`` fails the materialization with ``LineageError``.
        resources: objects handed to assets as ``ctx.resources``.
        io: the default IO manager (default ``fs.io.Memory()``).
        store: the store of records (default: in memory).
        lineage_store: where lineage is written (default: the store).
        health_timeout: seconds each health check may take before it counts as failed.
        queues: job queues this node works, name → concurrency (``{"assets": 8}``); with
            none it only enqueues. Needs a database.
        job_retry: the retry policy of jobs whose asset has none.
        rescue_after: seconds without a heartbeat after which a node's executing jobs are
            given back (heartbeats come every ``rescue_after / 4``).
        prune_after: seconds after which ended jobs are deleted.
        shutdown_grace: seconds a stopping node gives the jobs and materializations in
            flight before it abandons them; the stop ends at most 1 s later.
        poll_interval: seconds between claims when nothing wakes a queue.
        memory_records: without a database, how many asset/partition records the node keeps
            per pipeline (the oldest are forgotten, and recomputed if needed again).
    """

    name: str = "flowstone"
    database_url: str | None = None
    auto_migrate: bool = True
    max_value_bytes: int = 64 * 1024 * 1024
    max_concurrency: int = field(default_factory=default_concurrency)
    max_parallel: int = field(default_factory=default_concurrency)
    retry: Retry = field(default_factory=Retry)
    lineage_failure: Literal["log", "fail"] = "log"
    resources: Mapping[str, Any] = field(default_factory=dict)
    io: IOManager | None = None
    store: Store | None = None
    lineage_store: LineageStore | None = None
    health_timeout: float = 2.0
    memory_records: int = 10_000
    queues: Mapping[str, int] = field(default_factory=dict)
    job_retry: Retry = field(
        default_factory=lambda: Retry(
            max_attempts=5, backoff="exponential", base_delay=15.0, max_delay=3600.0, jitter=0.1
        )
    )
    rescue_after: float = 60.0
    prune_after: float = 7 * 86400.0
    shutdown_grace: float = 15.0
    poll_interval: float = 1.0

    def __post_init__(self) -> None:
        check_text("name", self.name)
        if self.database_url is not None:
            check_text("database_url", self.database_url)
        check_bool("auto_migrate", self.auto_migrate)
        for name in ("max_value_bytes", "max_concurrency", "max_parallel", "memory_records"):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("retry", "job_retry"):
            if not isinstance(getattr(self, name), Retry):
                raise TypeError(f"{name} must be a flowstone.Retry, got {getattr(self, name)!r}")
        if self.lineage_failure not in ("log", "fail"):
            raise ValueError(f"lineage_failure must be 'log' or 'fail', got {self.lineage_failure!r}")
        check_names("resources", self.resources)
        for queue, limit in check_names("queues", self.queues).items():
            check_int(f"queues[{queue!r}]", limit, minimum=0)
        if self.io is not None and not isinstance(self.io, IOManager):
            raise TypeError(f"io must be an IO manager (see flowstone.io), got {self.io!r}")
        check_methods("store", self.store, _STORE_METHODS, "a store (see flowstone/_store/base.py)")
        check_methods("lineage_store", self.lineage_store, ("record_lineage",), "a lineage store")
        for name in ("rescue_after", "prune_after", "shutdown_grace", "poll_interval", "health_timeout"):
            check_seconds(name, getattr(self, name))
        if self.queues and self.database_url is None and self.store is None:
            raise ValueError(
                "job queues need a database: pass database_url='sqlite:///flowstone.db' (or postgresql)"
            )

    def __repr__(self) -> str:
        # The database URL's password is masked, as in every message and log line.
        shown = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.database_url is not None:
            from flowstone._store.sql.engine import mask  # noqa: PLC0415 - SQLAlchemy loads lazily

            shown["database_url"] = mask(self.database_url)
        return f"NodeConfig({', '.join(f'{name}={value!r}' for name, value in shown.items())})"
