"""``NodeConfig``: every option ``fs.start(**options)`` takes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowstone._retry import Retry

if TYPE_CHECKING:
    from flowstone._store import LineageStore, Store
    from flowstone.io import IOManager

__all__ = ["NodeConfig", "default_concurrency"]


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

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "max_parallel"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int ≥ 1, got {value!r}")
        if self.lineage_failure not in ("log", "fail"):
            raise ValueError(f"lineage_failure must be 'log' or 'fail', got {self.lineage_failure!r}")
        if not isinstance(self.retry, Retry):
            raise TypeError(f"retry must be a flowstone.Retry, got {self.retry!r}")
        if self.health_timeout <= 0:
            raise ValueError(f"health_timeout must be > 0, got {self.health_timeout!r}")
