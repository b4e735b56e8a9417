"""The store protocol: what the runtime records about runs, materializations and lineage.

Values are not here: IO managers hold them. A store is used from many threads at once
and does its own concurrency control, as a database does. Every state change that counts
is conditional (``mark_finished`` only moves a record that is still running), so a
repeated or late delivery never counts twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from flowstone._store.records import MaterializationRecord, State

__all__ = ["LineageStore", "Store"]


class LineageStore(Protocol):
    """Where lineage edges live; separate so that tests can inject a failing one."""

    def record_lineage(
        self,
        pipeline: str,
        run_id: str,
        asset: str,
        partition_key: str,
        upstream: Sequence[tuple[str, str]],
    ) -> None:
        """Record that ``asset``/``partition_key`` was computed from ``upstream`` values."""

    def upstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        """The (asset, partition_key) values the latest materialization consumed."""

    def downstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        """The (asset, partition_key) values computed from this one."""


class Store(LineageStore, Protocol):
    """Durable (or in-memory) records of materializations and lineage."""

    url: str

    def open(self) -> None:
        """Connect (and migrate); raise ``StoreUnavailableError`` when that fails."""

    def close(self) -> None:
        """Release connections. ``open`` may be called again afterwards."""

    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` unless the store answers."""

    def mark_pending(self, pipeline: str, run_id: str, partition_key: str, assets: Sequence[str]) -> None:
        """Record assets planned by a run that have not started."""

    def mark_running(
        self, pipeline: str, asset: str, partition_key: str, run_id: str, attempt: int, at: datetime
    ) -> None:
        """Record that an attempt started."""

    def mark_finished(
        self,
        pipeline: str,
        asset: str,
        partition_key: str,
        run_id: str,
        *,
        status: State,
        attempts: int,
        at: datetime,
        error: str | None = None,
    ) -> bool:
        """Move a running record to ``status``; False (and no change) if it was not running."""

    def latest(self, pipeline: str, asset: str, partition_key: str) -> MaterializationRecord | None:
        """The most recent record for an asset and partition."""

    def delete(self, pipeline: str, asset: str, partition_key: str) -> int:
        """Remove the records (and lineage) of an asset and partition; how many."""

    def release(self, pipeline: str) -> None:
        """Forget in-memory state of a pipeline that no longer exists (no-op when durable)."""
