"""Records the store keeps about materializations, and the public ``Status`` view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from flowstone.partitions import Partition

__all__ = ["MaterializationRecord", "State", "Status"]

State: TypeAlias = Literal["completed", "failed", "running", "pending", "not_found"]


@dataclass(frozen=True, slots=True)
class MaterializationRecord:
    """One asset/partition materialized (or being materialized) by one run."""

    pipeline: str
    asset: str
    partition_key: str
    run_id: str
    status: State
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """Where an asset stands for one partition (``node.status``).

    ``state`` is ``not_found`` for an asset never run for that partition and ``pending``
    for one planned by a run but not started yet.
    """

    state: State
    partition: Partition
    run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    error: str | None = None
