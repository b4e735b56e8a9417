"""One pipeline's records in a ``MemoryStore``: the latest record per asset and partition,
the records of runs a newer run overtook, and the lineage between them.

Plain data with no lock of its own: ``MemoryStore`` holds its lock around every use.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from flowstone._store.records import MaterializationRecord

__all__ = ["ACTIVE", "Key", "PipelineRecords"]

Key = tuple[str, str]  # (asset, partition_key)

#: The states of a record whose run may still end it.
ACTIVE = ("pending", "running", "waiting")


@dataclass(slots=True)
class PipelineRecords:
    """The newest ``max_records`` asset/partition records of one pipeline and their lineage."""

    max_records: int
    records: OrderedDict[Key, MaterializationRecord] = field(default_factory=OrderedDict)
    #: Records of runs still going whose asset and partition a newer run has started
    #: since, by (key, run id): they are no longer the latest, but still theirs to end.
    overtaken: dict[tuple[Key, str], MaterializationRecord] = field(default_factory=dict)
    upstream: dict[Key, tuple[Key, ...]] = field(default_factory=dict)
    versions: dict[Key, tuple[str | None, ...]] = field(default_factory=dict)  # of the values read
    downstream: dict[Key, set[Key]] = field(default_factory=dict)

    def put(self, key: Key, record: MaterializationRecord) -> None:
        """Make ``record`` the latest of ``key``; an older run still going keeps its own."""
        current = self.records.get(key)
        if current is not None and current.run_id != record.run_id and current.status in ACTIVE:
            self.overtaken[(key, current.run_id)] = current
        self.records[key] = record
        self.records.move_to_end(key)
        while len(self.records) > self.max_records:
            old, _ = self.records.popitem(last=False)
            self.forget_lineage(old)

    def set(self, key: Key, record: MaterializationRecord) -> None:
        """Replace the record of ``record``'s run, wherever it is; an overtaken one that
        ended is forgotten (the newer run's is the latest, as in a database)."""
        current = self.records.get(key)
        if current is not None and current.run_id == record.run_id:
            self.records[key] = record
        elif record.status in ACTIVE:
            self.overtaken[(key, record.run_id)] = record
        else:
            del self.overtaken[(key, record.run_id)]

    def record_of(self, key: Key, run_id: str, states: tuple[str, ...]) -> MaterializationRecord | None:
        """The record of ``run_id`` for ``key``, if in one of ``states``."""
        current = self.records.get(key)
        if current is None or current.run_id != run_id:
            current = self.overtaken.get((key, run_id)) if self.overtaken else None
        if current is None or current.status not in states:
            return None
        return current

    def link(self, key: Key, upstream: Sequence[tuple[str, str]]) -> None:
        """Record what ``key`` read, replacing what it read before."""
        self.forget_lineage(key, keep_downstream=True)
        self.upstream[key] = tuple(upstream)
        self.versions[key] = tuple(_version(self.records.get(parent)) for parent in upstream)
        for parent in upstream:
            self.downstream.setdefault(parent, set()).add(key)

    def forget_lineage(self, key: Key, *, keep_downstream: bool = False) -> None:
        self.versions.pop(key, None)
        for parent in self.upstream.pop(key, ()):
            children = self.downstream.get(parent)
            if children is not None:
                children.discard(key)
                if not children:
                    del self.downstream[parent]
        if not keep_downstream:
            self.downstream.pop(key, None)


def _version(record: MaterializationRecord | None) -> str | None:
    """The data version of a value read: the run that completed it (None if none did)."""
    return record.run_id if record is not None and record.status == "completed" else None
