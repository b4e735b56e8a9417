"""Reading an asset's stored value for a partition."""

from __future__ import annotations

from typing import Any

from flowstone import partitions
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone.errors import NotMaterializedError
from flowstone.io import AssetKey

__all__ = ["load_value"]


def load_value(services: Services, pipeline: Pipeline, asset: str, partition: partitions.Partition) -> Any:
    """The stored value of ``asset``; ``NotMaterializedError`` if there is none."""
    key = partitions.serialize(partition)
    io = services.resolve_io(pipeline.get(asset).options.io)
    try:
        return io.load(AssetKey(pipeline.name, asset, key))
    except KeyError:
        where = "" if partition is None else f", partition {partitions.describe(partition)!r}"
        raise NotMaterializedError(
            f"asset {asset!r}{where} (pipeline {pipeline.name!r}) has no stored value; run it first",
            asset=asset,
            partition=partition,
        ) from None
