"""The IO-manager protocol and the key that names one stored value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from flowstone import partitions

__all__ = ["AssetKey", "IOManager"]


@dataclass(frozen=True, slots=True)
class AssetKey:
    """Names one value: pipeline, asset and the partition's serialized form."""

    pipeline: str
    asset: str
    partition_key: str

    @property
    def partition(self) -> partitions.Partition:
        return partitions.deserialize(self.partition_key)


@runtime_checkable
class IOManager(Protocol):
    """Where asset values live. Implementations must be safe to call from many threads."""

    def load(self, key: AssetKey) -> Any:
        """The stored value; raises ``KeyError`` when there is none."""

    def store(self, key: AssetKey, value: Any) -> None:
        """Store ``value``, replacing any previous one. Nothing is written if it fails."""

    def exists(self, key: AssetKey) -> bool:
        """Whether a value is stored."""

    def delete(self, key: AssetKey) -> bool:
        """Remove the value; True if there was one."""

    def list_partitions(self, pipeline: str, asset: str) -> list[partitions.Partition]:
        """The partitions that have a stored value."""

    def release(self, pipeline: str) -> None:
        """Forget what is held in memory for a pipeline name that no longer exists.

        A node calls it on its default IO manager once no live pipeline of that name is
        registered on it, so never while a run of that name is in flight.
        """
