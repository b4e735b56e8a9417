"""Backfill targets: the declared partition set by default, checked before anything runs."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from flowstone import partitions
from flowstone._pipeline import Pipeline
from flowstone.errors import OptionError, PartitionError

__all__ = ["backfill_partitions"]


def backfill_partitions(
    pipeline: Pipeline, asset: str, items: Iterable[partitions.Partition] | None
) -> Iterable[partitions.Partition]:
    """The partitions a backfill of ``asset`` covers, refused up front if outside its set.

    Without ``items`` the asset's declared set is backfilled (up to now for an
    open-ended time set). A set or a collection is checked whole here, so a partition
    outside the declared set raises ``PartitionError`` before any partition runs; a
    lazy iterator is checked partition by partition as it is consumed (it cannot be
    read twice), each bad one reported as a failed partition.

    Raises:
        OptionError: no ``items`` and the asset declares no partition set.
        PartitionError: naming the asset, the partition and the declared set.
    """
    definition = pipeline.get(asset)
    declared = definition.options.partitions
    if items is None:
        if declared is None:
            raise OptionError(
                f"pipeline {pipeline.name!r}, asset {asset!r} declares no partition set, so a "
                "backfill needs partitions=...; or declare one: @pipeline.asset(partitions="
                "fs.partitions.Daily('2025-01-01'))"
            )
        return declared
    if declared is None or items == declared:
        return items
    where = f"pipeline {pipeline.name!r}, asset {asset!r}: "
    if isinstance(items, partitions.TimeSet) and type(items) is type(declared):
        declared.check(items.start, where)
        if items.end is None:
            if declared.end is not None:
                raise PartitionError(
                    f"{where}the open-ended {items!r} reaches past the end of the declared set "
                    f"{declared!r}; give the backfill an end"
                )
        else:
            declared.check(items.end, where)
        return items
    if isinstance(items, partitions.PartitionSet | Collection) and not isinstance(items, str):
        for partition in items:
            declared.check(partition, where)
    return items
