"""The store protocol: what the runtime records about runs, materializations and lineage.

Values are not here: IO managers hold them. A store is used from many threads at once
and does its own concurrency control, as a database does. Every state change that counts
is conditional (``complete`` and ``fail`` only move a record that is still running), so a
repeated or late delivery never counts twice. Each call is one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from flowstone._store.records import (
    AuditEntry,
    Completion,
    Failure,
    MaterializationRecord,
    RunStart,
    Skip,
    WholeRun,
)
from flowstone.io import IOManager

if TYPE_CHECKING:
    from flowstone import partitions
    from flowstone._partition_status import PartitionStatus

__all__ = ["LineageStore", "Store"]


class LineageStore(Protocol):
    """Where lineage edges live; separate so that tests can inject a failing one."""

    def record_lineage(
        self, pipeline: str, run_id: str, asset: str, partition_key: str, upstream: Sequence[tuple[str, str]]
    ) -> None:
        """Record that ``asset``/``partition_key`` was computed from ``upstream`` values."""

    def upstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        """The (asset, partition_key) values the latest materialization consumed."""

    def downstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        """The (asset, partition_key) values computed from this one."""


class Store(LineageStore, Protocol):
    """Durable (or in-memory) records of runs, materializations, lineage and audit."""

    url: str
    #: How many one-asset runs of a backfill are recorded per transaction, after they end
    #: (``record_runs``); 0 records each run as it happens.
    run_batch: int

    def open(self) -> None:
        """Connect (and migrate); raise ``StoreUnavailableError`` when that fails."""

    def close(self) -> None:
        """Release connections. ``open`` may be called again afterwards."""

    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` unless the store answers."""

    def start_run(self, run: RunStart) -> None:
        """Record a run and a pending record for every asset it plans."""

    def mark_running(
        self, pipeline: str, asset: str, partition_key: str, run_id: str, attempt: int, at: datetime
    ) -> None:
        """Record that an attempt started."""

    def complete(
        self, done: Completion, io: IOManager, value: Any, encoded: bytes | str | None = None
    ) -> bool:
        """Store ``value`` with ``io`` and mark the record completed.

        ``encoded`` is ``value`` already encoded by ``io`` (values kept in the database).

        False (and nothing marked) if the record was no longer running: its run gave up
        on it. Raises ``EncodeError`` before writing anything if the value cannot be
        encoded.
        """

    def holds(self, io: IOManager) -> bool:
        """Whether this store writes ``io``'s values itself, in its own transactions
        (then ``complete`` and ``record_runs`` take them encoded)."""

    def record_runs(self, runs: Sequence[WholeRun]) -> None:
        """Record single-asset runs that already ended, all in one transaction: each
        run's row, its record, its value if ``holds``, its lineage and its audit rows."""

    def fail(self, failure: Failure) -> bool:
        """Mark a running record (and its run) failed; False if it was not running."""

    def suspend(self, pipeline: str, asset: str, partition_key: str, run_id: str, at: datetime) -> bool:
        """A running record starts waiting (a durable wait); its run is ``waiting`` too.
        False if it was not running."""

    def run_resumed(self, run_id: str) -> None:
        """A waiting run runs again (one of its waits resumed)."""

    def run_records(self, run_id: str) -> dict[str, str]:
        """The state of each asset the run planned (asset → state)."""

    def run_tags(self, run_id: str) -> Mapping[str, str]:
        """The tags the run was started with (issue 19); empty for an unknown or untagged run."""

    def skip(self, skip: Skip) -> None:
        """Record assets of a run that will not run as ``skipped`` (their pending or
        running records, or new ones), and end the run ``skipped`` if its target is one."""

    def finish_run(self, run_id: str, *, status: str, at: datetime, error: str | None, actor: str) -> None:
        """Close a run that ended outside a materialization (timeout, lost runner)."""

    def latest(self, pipeline: str, asset: str, partition_key: str) -> MaterializationRecord | None:
        """The most recent record for an asset and partition."""

    def completed(
        self, pipeline: str, partition_keys: Sequence[str], assets: Sequence[str]
    ) -> dict[str, set[str]]:
        """Per partition key, those of ``assets`` whose most recent record is completed
        (keys with none are left out): one query for a whole window of a backfill."""

    def partition_states(self, pipeline: str, asset: str) -> dict[str, str]:
        """Per partition key, the state of the asset's most recent record: the data of an
        overview of every partition in one query (``node.partition_status``)."""

    def partition_overview(
        self, pipeline: str, asset: str, pset: partitions.PartitionSet | None
    ) -> PartitionStatus:
        """The overview of the asset's partitions against its declared set, from a summary
        of each partition's newest state that the store keeps with every record it writes
        (``node.partition_status``; ≤ 100 ms for 100,000 days on SQLite)."""

    def upstream_versions(
        self, pipeline: str, asset: str, partition_key: str
    ) -> list[tuple[str, str, str | None]]:
        """``upstream_of`` with the data version of each upstream value read: the run id
        of the upstream's completed record when the lineage was written (None if unknown:
        written before data versions, or the upstream had no completed value)."""

    def delete(self, pipeline: str, asset: str, partition_key: str) -> int:
        """Remove the records (and lineage) of an asset and partition; how many."""

    def release(self, pipeline: str) -> None:
        """Forget in-memory state of a pipeline name that no longer exists (no-op when
        durable); called once no live pipeline of that name is registered on the node."""

    def audit(self, entry: AuditEntry) -> None:
        """Append to the audit log."""

    def audit_entries(self, limit: int) -> list[AuditEntry]:
        """The newest ``limit`` audit entries, newest first."""
