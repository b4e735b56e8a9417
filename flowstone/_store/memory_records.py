"""One pipeline's records in a ``MemoryStore``: the latest record per asset and partition,
the records of runs a newer run overtook, and the lineage between them.

Plain data with no lock of its own: ``MemoryStore`` holds its lock around every use.

The store keeps each record as an ``Entry``, its own mutable copy, changed in place as
its materialization goes from pending to running to completed, and builds the frozen
``MaterializationRecord`` users get only when one is read (``Entry.record``). Users can
therefore not change stored history, and a run does not pay for three frozen records per
asset: a frozen dataclass's ``__init__`` sets each of its 11 fields through
``object.__setattr__`` (issue 22; docs/decisions.md, "Memory store records").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flowstone._store.records import MaterializationRecord, State

__all__ = ["ACTIVE", "Entry", "Key", "PipelineRecords"]

Key = tuple[str, str]  # (asset, partition_key)

#: The states of a record whose run may still end it.
ACTIVE = ("pending", "running", "waiting")


@dataclass(slots=True, eq=False)
class Entry:
    """The store's own copy of a ``MaterializationRecord`` (the same fields), changed in
    place under the store's lock; it never leaves the store."""

    pipeline: str
    asset: str
    partition_key: str
    run_id: str
    status: State
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    duration_ms: float | None = None
    code_version: str | None = None

    def record(self) -> MaterializationRecord:
        """A frozen copy, for a reader: later changes to the entry do not show in it."""
        return MaterializationRecord(
            self.pipeline,
            self.asset,
            self.partition_key,
            self.run_id,
            self.status,
            self.attempts,
            self.started_at,
            self.finished_at,
            self.error,
            self.duration_ms,
            self.code_version,
        )


@dataclass(slots=True)
class PipelineRecords:
    """The newest ``max_records`` asset/partition records of one pipeline and their lineage."""

    max_records: int
    records: OrderedDict[Key, Entry] = field(default_factory=OrderedDict)
    #: Records of runs still going whose asset and partition a newer run has started
    #: since, by (key, run id): they are no longer the latest, but still theirs to end.
    overtaken: dict[tuple[Key, str], Entry] = field(default_factory=dict)
    upstream: dict[Key, tuple[Key, ...]] = field(default_factory=dict)
    versions: dict[Key, tuple[str | None, ...]] = field(default_factory=dict)  # of the values read
    downstream: dict[Key, set[Key]] = field(default_factory=dict)

    def put(self, key: Key, record: Entry) -> None:
        """Make ``record`` the latest of ``key``; an older run still going keeps its own."""
        current = self.records.get(key)
        if current is not None and current.run_id != record.run_id and current.status in ACTIVE:
            self.overtaken[(key, current.run_id)] = current
        self.records[key] = record
        self.records.move_to_end(key)
        while len(self.records) > self.max_records:
            old, _ = self.records.popitem(last=False)
            self.forget_lineage(old)

    def set(self, key: Key, record: Entry) -> None:
        """Replace the record of ``record``'s run, wherever it is; an overtaken one that
        ended is forgotten (the newer run's is the latest, as in a database)."""
        current = self.records.get(key)
        if current is not None and current.run_id == record.run_id:
            self.records[key] = record
        elif record.status in ACTIVE:
            self.overtaken[(key, record.run_id)] = record
        else:
            del self.overtaken[(key, record.run_id)]

    def record_of(self, key: Key, run_id: str, states: tuple[str, ...]) -> Entry | None:
        """The record of ``run_id`` for ``key``, if in one of ``states``."""
        current = self.records.get(key)
        if current is None or current.run_id != run_id:
            current = self.overtaken.get((key, run_id)) if self.overtaken else None
        if current is None or current.status not in states:
            return None
        return current

    def link(self, key: Key, upstream: Sequence[tuple[str, str]]) -> None:
        """Record what ``key`` read, replacing what it read before, and the data version
        of each value read: the run that completed it (None if none did)."""
        if key in self.upstream:
            self.forget_lineage(key, keep_downstream=True)
        # One loop, data versions read inline: this runs once per materialization, and a
        # generator and a call per dependency cost more than the rest (issue 22).
        records, downstream = self.records, self.downstream
        versions: list[str | None] = []
        for parent in upstream:
            record = records.get(parent)
            versions.append(record.run_id if record is not None and record.status == "completed" else None)
            children = downstream.get(parent)
            if children is None:
                downstream[parent] = {key}
            else:
                children.add(key)
        self.upstream[key] = tuple(upstream)
        self.versions[key] = tuple(versions)

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
