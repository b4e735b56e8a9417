"""The context an asset function receives as its first argument."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowstone._scatter.batching import BatchInfo
from flowstone.partitions import Partition

__all__ = ["Context"]


@dataclass(frozen=True, slots=True)
class Context:
    """What an asset knows about the materialization it is running in.

    Attributes:
        run_id: the id of this run (shared by all assets a ``run`` materializes).
        asset: this asset's name.
        partition: the partition being materialized (None when unpartitioned).
        attempt: 1 for the first try, 2 for the first retry, and so on.
        pipeline: the pipeline's name.
        log: a structlog logger with run_id, asset and partition bound.
        resources: the node's resources by name (read-only).
        scatter_key: in a scatter asset, the key this run of the function is for (None
            otherwise, and when the scatter runs batches).
        batch: in a scatter asset with ``fs.Batch``, the batch this run is for.
    """

    run_id: str
    asset: str
    partition: Partition
    attempt: int
    pipeline: str
    log: Any
    resources: Mapping[str, Any]
    scatter_key: Any = None
    batch: BatchInfo | None = None
