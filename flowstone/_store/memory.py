"""``MemoryStore``: the store of a node without a database, bounded so it never grows
without limit in a long-running process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from flowstone._store.records import MaterializationRecord, State

__all__ = ["MemoryStore"]

Key = tuple[str, str]  # (asset, partition_key)


@dataclass(slots=True)
class _PipelineRecords:
    records: OrderedDict[Key, MaterializationRecord] = field(default_factory=OrderedDict)
    upstream: dict[Key, tuple[Key, ...]] = field(default_factory=dict)
    downstream: dict[Key, set[Key]] = field(default_factory=dict)


class MemoryStore:
    """Latest record per asset and partition, per pipeline, behind one lock.

    Only the newest ``max_records`` asset/partition records of each pipeline are kept
    (and their lineage); older ones are evicted. A database store keeps everything.
    """

    url = "memory://"

    def __init__(self, *, max_records: int = 100_000) -> None:
        self._max = max_records
        self._lock = threading.Lock()
        self._pipelines: dict[str, _PipelineRecords] = {}

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def ping(self) -> None:
        with self._lock:
            pass

    def _state(self, pipeline: str) -> _PipelineRecords:
        state = self._pipelines.get(pipeline)
        if state is None:
            state = self._pipelines[pipeline] = _PipelineRecords()
        return state

    def _put(self, state: _PipelineRecords, key: Key, record: MaterializationRecord) -> None:
        state.records[key] = record
        state.records.move_to_end(key)
        while len(state.records) > self._max:
            old, _ = state.records.popitem(last=False)
            self._forget_lineage(state, old)

    def mark_pending(self, pipeline: str, run_id: str, partition_key: str, assets: Sequence[str]) -> None:
        with self._lock:
            state = self._state(pipeline)
            for asset in assets:
                record = MaterializationRecord(pipeline, asset, partition_key, run_id, "pending")
                self._put(state, (asset, partition_key), record)

    def mark_running(
        self, pipeline: str, asset: str, partition_key: str, run_id: str, attempt: int, at: datetime
    ) -> None:
        with self._lock:
            state = self._state(pipeline)
            key = (asset, partition_key)
            current = state.records.get(key)
            if current is not None and current.run_id == run_id and current.started_at is not None:
                record = replace(current, status="running", attempts=attempt)
            else:
                record = MaterializationRecord(pipeline, asset, partition_key, run_id, "running", attempt, at)
            self._put(state, key, record)

    def mark_finished(
        self,
        pipeline: str,
        asset: str,
        partition_key: str,
        run_id: str,
        *,
        status: State,
        attempts: int,
        at: datetime,
        error: str | None = None,
    ) -> bool:
        with self._lock:
            state = self._pipelines.get(pipeline)
            current = state.records.get((asset, partition_key)) if state else None
            if state is None or current is None or current.run_id != run_id or current.status != "running":
                return False
            done = replace(current, status=status, attempts=attempts, finished_at=at, error=error)
            state.records[(asset, partition_key)] = done
            return True

    def latest(self, pipeline: str, asset: str, partition_key: str) -> MaterializationRecord | None:
        with self._lock:
            state = self._pipelines.get(pipeline)
            return state.records.get((asset, partition_key)) if state else None

    def delete(self, pipeline: str, asset: str, partition_key: str) -> int:
        with self._lock:
            state = self._pipelines.get(pipeline)
            if state is None:
                return 0
            key = (asset, partition_key)
            self._forget_lineage(state, key)
            return 1 if state.records.pop(key, None) is not None else 0

    def release(self, pipeline: str) -> None:
        with self._lock:
            self._pipelines.pop(pipeline, None)

    # --- lineage -------------------------------------------------------------------
    def record_lineage(
        self,
        pipeline: str,
        run_id: str,
        asset: str,
        partition_key: str,
        upstream: Sequence[tuple[str, str]],
    ) -> None:
        with self._lock:
            state = self._state(pipeline)
            key = (asset, partition_key)
            self._forget_lineage(state, key, keep_downstream=True)
            state.upstream[key] = tuple(upstream)
            for parent in upstream:
                state.downstream.setdefault(parent, set()).add(key)

    def _forget_lineage(self, state: _PipelineRecords, key: Key, *, keep_downstream: bool = False) -> None:
        for parent in state.upstream.pop(key, ()):
            children = state.downstream.get(parent)
            if children is not None:
                children.discard(key)
                if not children:
                    del state.downstream[parent]
        if not keep_downstream:
            state.downstream.pop(key, None)

    def upstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        with self._lock:
            state = self._pipelines.get(pipeline)
            return list(state.upstream.get((asset, partition_key), ())) if state else []

    def downstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        with self._lock:
            state = self._pipelines.get(pipeline)
            return sorted(state.downstream.get((asset, partition_key), ())) if state else []
