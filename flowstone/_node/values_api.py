"""``ValuesAPI``: the node's methods that read and remove stored values and their records.

Mixed into ``Node``: ``get``, ``exists``, ``status``, ``partition_status``, ``invalidate``
and ``audit`` ask the store and the IO managers, never the runtime's actors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload

from flowstone import _graph, partitions
from flowstone._execution.run import load_value
from flowstone._partition_status import PartitionStatus
from flowstone._staleness import stale_reasons
from flowstone._store import AuditEntry, Status, Store
from flowstone.io import AssetKey, IOManager
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["ValuesAPI"]

T = TypeVar("T")

log = get_logger("flowstone")


class ValuesAPI:
    """Reading what is stored: values, states, staleness, the audit log."""

    id: str
    _services: Services
    _store: Store

    def _io_for(self, pipeline: Pipeline, asset: str) -> IOManager:
        return self._services.resolve_io(pipeline.get(asset).options.io)

    @overload
    def get(
        self, pipeline: Pipeline, asset: Callable[..., T], partition: partitions.Partition = None
    ) -> T: ...
    @overload
    def get(self, pipeline: Pipeline, asset: str, partition: partitions.Partition = None) -> Any: ...

    def get(
        self, pipeline: Pipeline, asset: str | Callable[..., Any], partition: partitions.Partition = None
    ) -> Any:
        """The stored value; ``NotMaterializedError`` if there is none. Given the asset's
        function rather than its name, the value is typed as what the function returns."""
        return load_value(self._services, pipeline, pipeline.name_of(asset), partition)

    def exists(self, pipeline: Pipeline, asset: str, partition: partitions.Partition = None) -> bool:
        """Whether a value is stored for the asset and partition."""
        key = partitions.serialize(partition)
        return self._io_for(pipeline, asset).exists(AssetKey(pipeline.name, asset, key))

    def status(self, pipeline: Pipeline, asset: str, partition: partitions.Partition = None) -> Status:
        """Where the asset stands for the partition (``not_found`` if never run)."""
        pipeline.get(asset)
        key = partitions.serialize(partition)
        record = self._store.latest(pipeline.name, asset, key)
        if record is None:
            return Status("not_found", partition)
        reasons = stale_reasons(self._store, pipeline, asset, key, record)
        return Status(
            record.status,
            partition,
            record.run_id,
            record.started_at,
            record.finished_at,
            record.attempts,
            record.error,
            bool(reasons),
            reasons,
        )

    def partition_status(self, pipeline: Pipeline, asset: str) -> PartitionStatus:
        """How many partitions of ``asset`` are in each state, and which (docs/partitions.md)."""
        options = pipeline.get(asset).options
        return self._store.partition_overview(pipeline.name, asset, options.partitions)

    def invalidate(
        self,
        pipeline: Pipeline,
        asset: str,
        partition: partitions.Partition = None,
        *,
        cascade: bool = False,
    ) -> int:
        """Remove the stored value and records; with ``cascade`` also every downstream asset's.

        Returns the number of materializations removed.
        """
        pipeline.get(asset)
        key = partitions.serialize(partition)
        targets = [asset, *(_graph.downstream(pipeline.deps, asset) if cascade else [])]
        removed = 0
        for name in targets:
            records = self._store.delete(pipeline.name, name, key)
            value = self._io_for(pipeline, name).delete(AssetKey(pipeline.name, name, key))
            removed += 1 if (records or value) else 0
        log.info("asset.invalidated", pipeline=pipeline.name, asset=asset, partition=key, removed=removed)
        self._store.audit(
            AuditEntry(
                datetime.now(UTC),
                "asset.invalidated",
                self.id,
                f"{pipeline.name}/{asset}/{key}",
                "invalidate",
                {"cascade": cascade, "removed": removed, "assets": targets},
            )
        )
        return removed

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        """The newest audit-log entries (runs, invalidations, admin actions), newest first."""
        return self._store.audit_entries(limit)

    def run_tags(self, run_id: str) -> Mapping[str, str]:
        """The tags run ``run_id`` was started with (``node.run(..., tags=...)``); empty for
        an untagged or unknown run (the memory store keeps the newest runs' only)."""
        return self._store.run_tags(run_id)
