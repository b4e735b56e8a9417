"""The memory store's overview of an asset's partitions (``node.partition_status``).

Its records are already one entry per asset and partition, the newest, written under the
same lock as every change: that map is the summary, read as it is.
"""

from __future__ import annotations

from flowstone import partitions
from flowstone._partition_status import PartitionStatus, partition_status

__all__ = ["MemoryOverview"]


class MemoryOverview:
    """Mixed into ``MemoryStore``: ``partition_overview``."""

    def partition_states(self, pipeline: str, asset: str) -> dict[str, str]:
        raise NotImplementedError  # MemoryStore's

    def partition_overview(
        self, pipeline: str, asset: str, pset: partitions.PartitionSet | None
    ) -> PartitionStatus:
        """The overview of ``asset``'s partitions against its declared set (or None)."""
        return partition_status(asset, pset, self.partition_states(pipeline, asset))
