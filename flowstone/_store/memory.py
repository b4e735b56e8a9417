"""``MemoryStore``: the store of a node without a database, bounded so that it never grows
without limit in a long-running process."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from flowstone._store.memory_barrier import MemoryBarrier
from flowstone._store.memory_limits import MemoryLimits
from flowstone._store.memory_records import ACTIVE, Entry, PipelineRecords
from flowstone._store.overview import MemoryOverview
from flowstone._store.records import (
    AuditEntry,
    Completion,
    Failure,
    MaterializationRecord,
    RunStart,
    Skip,
    WholeRun,
)
from flowstone._tags import EMPTY, Tags, tagged
from flowstone.io import AssetKey, IOManager

#: (pipeline, run_id, asset, partition_key, upstream (asset, partition_key) pairs)
LineageRecord = tuple[str, str, str, str, tuple[tuple[str, str], ...]]

__all__ = ["MemoryStore"]

_PENDING = ("pending",)


class MemoryStore(MemoryOverview):
    """Latest record per asset and partition, per pipeline, behind one lock.

    As in a database, a run's records are its own: a newer run of the same asset and
    partition becomes the latest record without taking the older run's away, so each
    run still completes or fails its own (the older one's stops being the latest).
    Only the newest ``max_records`` asset/partition records of each pipeline (and their
    lineage) and the newest ``max_audit`` audit entries are kept; a database keeps all.
    """

    url = "memory://"
    run_batch = 0  # nothing to save: a record is a dictionary entry, not a commit

    def __init__(self, *, max_records: int = 10_000, max_audit: int = 1_000) -> None:
        self._max = max_records
        self.barrier = MemoryBarrier()  # scatters (issue 15)
        self.limits = MemoryLimits()  # rate= and concurrency= (issue 20)
        self._lock = threading.Lock()
        self._pipelines: dict[str, PipelineRecords] = {}
        self._audit: deque[AuditEntry] = deque(maxlen=max_audit)
        self._tags: dict[str, Tags] = {}  # run id → tags, tagged runs only, newest kept

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def ping(self) -> None:
        with self._lock:
            pass

    def _state(self, pipeline: str) -> PipelineRecords:
        state = self._pipelines.get(pipeline)
        if state is None:
            state = self._pipelines[pipeline] = PipelineRecords(self._max)
        return state

    def _running(
        self, pipeline: str, asset: str, key: str, run_id: str, states: tuple[str, ...] = ("running",)
    ) -> Entry | None:
        """The record of ``run_id`` for the asset and partition, if in one of ``states``."""
        state = self._pipelines.get(pipeline)
        return None if state is None else state.record_of((asset, key), run_id, states)

    # --- runs and materializations -------------------------------------------------
    def start_run(self, run: RunStart) -> None:
        with self._lock:
            state = self._state(run.pipeline)
            running = set(run.running)
            for asset in run.plan:
                if asset in running:
                    record = Entry(run.pipeline, asset, run.partition_key, run.run_id, "running", 1, run.at)
                else:
                    record = Entry(run.pipeline, asset, run.partition_key, run.run_id, "pending")
                state.put((asset, run.partition_key), record)
            if run.nested:  # its outer run's start is recorded with that run
                return
            resource = f"{run.pipeline}/{run.asset}/{run.partition_key}"
            self._remember_tags(run.run_id, run.tags)
            details = {"run_id": run.run_id, **tagged(run.tags)}
            self._audit.append(AuditEntry(run.at, "run.started", run.actor, resource, "start", details))

    def mark_running(
        self, pipeline: str, asset: str, partition_key: str, run_id: str, attempt: int, at: datetime
    ) -> None:
        with self._lock:
            state = self._state(pipeline)
            key = (asset, partition_key)
            current = self._running(pipeline, asset, partition_key, run_id, ACTIVE)
            if current is not None:  # the store's own entry: changed in place
                current.status, current.attempts = "running", attempt
                if current.started_at is None:
                    current.started_at = at
                state.set(key, current)
            else:
                state.put(key, Entry(pipeline, asset, partition_key, run_id, "running", attempt, at))

    def complete(
        self, done: Completion, io: IOManager, value: Any, encoded: bytes | str | None = None
    ) -> bool:
        with self._lock:
            if self._running(done.pipeline, done.asset, done.partition_key, done.run_id) is None:
                return False
        io.store(AssetKey(done.pipeline, done.asset, done.partition_key), value)
        with self._lock:
            current = self._running(done.pipeline, done.asset, done.partition_key, done.run_id)
            if current is None:
                return False
            if done.finishes_run:
                resource = f"{done.pipeline}/{done.asset}/{done.partition_key}"
                details = {"run_id": done.run_id, **tagged(done.tags)}
                self._audit.append(
                    AuditEntry(done.at, "run.finished", done.actor, resource, "finish", details)
                )
            state = self._pipelines[done.pipeline]
            if done.lineage:
                state.link((done.asset, done.partition_key), done.lineage)
            # The store's own entries, changed in place (memory_records.py).
            current.status, current.attempts, current.finished_at = "completed", done.attempts, done.at
            current.duration_ms, current.code_version = done.duration_ms, done.code_version
            state.set((done.asset, done.partition_key), current)
            for asset in done.then_running:
                key = (asset, done.partition_key)
                if (pending := state.record_of(key, done.run_id, _PENDING)) is not None:
                    pending.status, pending.attempts, pending.started_at = "running", 1, done.at
                    state.set(key, pending)
            return True

    def holds(self, io: IOManager) -> bool:
        return False  # values live in IO managers, which store them before a record is made

    def record_runs(self, runs: Sequence[WholeRun]) -> None:
        with self._lock:
            for run in runs:
                start, done, failure = run.start, run.completion, run.failure
                end = done or failure
                if end is None:
                    raise ValueError(f"run {start.run_id} has neither a completion nor a failure")
                state = self._state(start.pipeline)
                key = (start.asset, start.partition_key)
                error = None if failure is None else failure.error
                record = Entry(
                    start.pipeline,
                    start.asset,
                    start.partition_key,
                    start.run_id,
                    "failed" if failure is not None else "completed",
                    end.attempts,
                    start.at,
                    end.at,
                    error,
                    None if done is None else done.duration_ms,
                    None if done is None else done.code_version,
                )
                state.put(key, record)
                if done is not None and done.lineage:
                    state.link(key, done.lineage)
                resource = f"{start.pipeline}/{start.asset}/{start.partition_key}"
                self._remember_tags(start.run_id, start.tags)
                details = {"run_id": start.run_id, **tagged(start.tags)}
                self._audit.append(
                    AuditEntry(start.at, "run.started", start.actor, resource, "start", details)
                )
                event, action = ("run.failed", "fail") if failure is not None else ("run.finished", "finish")
                ended = {**details, "error": error} if failure is not None else details
                self._audit.append(AuditEntry(end.at, event, end.actor, resource, action, ended))

    def fail(self, failure: Failure) -> bool:
        with self._lock:
            current = self._running(
                failure.pipeline, failure.asset, failure.partition_key, failure.run_id, ACTIVE
            )
            if current is None:
                return False
            resource = f"{failure.pipeline}/{failure.asset}/{failure.partition_key}"
            details = {"run_id": failure.run_id, "error": failure.error, **tagged(failure.tags)}
            self._audit.append(AuditEntry(failure.at, "run.failed", failure.actor, resource, "fail", details))
            state = self._pipelines[failure.pipeline]
            failed = replace(
                current,
                status=failure.status,
                attempts=failure.attempts,
                finished_at=failure.at,
                error=failure.error,
            )
            state.set((failure.asset, failure.partition_key), failed)
            if state.overtaken:  # its run ends here: its overtaken pending records never will
                for overtaken_key, record in list(state.overtaken.items()):
                    if record.run_id == failure.run_id and record.status == "pending":
                        del state.overtaken[overtaken_key]
            return True

    def suspend(self, pipeline: str, asset: str, partition_key: str, run_id: str, at: datetime) -> bool:
        with self._lock:
            current = self._running(pipeline, asset, partition_key, run_id)
            if current is None:
                return False
            self._pipelines[pipeline].set((asset, partition_key), replace(current, status="waiting"))
            return True

    def run_resumed(self, run_id: str) -> None:
        pass  # the memory store keeps no run rows

    def run_records(self, run_id: str) -> dict[str, str]:
        with self._lock:
            found: dict[str, str] = {}
            for state in self._pipelines.values():
                for record in state.records.values():
                    if record.run_id == run_id:
                        found[record.asset] = record.status
                for record in state.overtaken.values():
                    if record.run_id == run_id:
                        found[record.asset] = record.status
            return found

    def skip(self, skip: Skip) -> None:
        with self._lock:
            state = self._state(skip.pipeline)
            key_of = skip.partition_key
            for asset in skip.assets:
                key = (asset, key_of)
                current = self._running(skip.pipeline, asset, key_of, skip.run_id, ACTIVE)
                record = Entry(skip.pipeline, asset, key_of, skip.run_id, "skipped", 0, None, skip.at)
                if current is not None:
                    state.set(key, replace(record, started_at=current.started_at))
                else:
                    state.put(key, record)
            if skip.finishes_run:
                resource = f"{skip.pipeline}/{skip.assets[0]}/{key_of}"
                details = {"run_id": skip.run_id, "skipped": True, **tagged(skip.tags)}
                self._audit.append(
                    AuditEntry(skip.at, "run.finished", skip.actor, resource, "finish", details)
                )

    def finish_run(self, run_id: str, *, status: str, at: datetime, error: str | None, actor: str) -> None:
        with self._lock:
            for state in self._pipelines.values():
                for key, record in list(state.records.items()):
                    if record.run_id == run_id and record.status in ACTIVE:
                        state.records[key] = replace(record, status="failed", finished_at=at, error=error)
                for overtaken_key, record in list(state.overtaken.items()):
                    if record.run_id == run_id:
                        del state.overtaken[overtaken_key]
            details = {"run_id": run_id, "error": error, **tagged(self._tags.get(run_id, EMPTY))}
            self._audit.append(AuditEntry(at, "run.failed", actor, run_id, "fail", details))

    def latest(self, pipeline: str, asset: str, partition_key: str) -> MaterializationRecord | None:
        with self._lock:
            state = self._pipelines.get(pipeline)
            entry = state.records.get((asset, partition_key)) if state else None
            return None if entry is None else entry.record()  # a frozen copy: history stays

    def completed(
        self, pipeline: str, partition_keys: Sequence[str], assets: Sequence[str]
    ) -> dict[str, set[str]]:
        with self._lock:
            state = self._pipelines.get(pipeline)
            if state is None:
                return {}
            records = state.records
            found: dict[str, set[str]] = {}
            for key in partition_keys:
                done = {
                    a for a in assets if (r := records.get((a, key))) is not None and r.status == "completed"
                }
                if done:
                    found[key] = done
            return found

    def partition_states(self, pipeline: str, asset: str) -> dict[str, str]:
        with self._lock:
            state = self._pipelines.get(pipeline)
            if state is None:
                return {}
            return {key: r.status for (name, key), r in state.records.items() if name == asset}

    def delete(self, pipeline: str, asset: str, partition_key: str) -> int:
        with self._lock:
            state = self._pipelines.get(pipeline)
            if state is None:
                return 0
            key = (asset, partition_key)
            state.forget_lineage(key)
            overtaken = [k for k in state.overtaken if k[0] == key]
            for overtaken_key in overtaken:
                del state.overtaken[overtaken_key]
            return len(overtaken) + (1 if state.records.pop(key, None) is not None else 0)

    def release(self, pipeline: str) -> None:
        prefix = f"{pipeline}/"
        with self._lock:
            self._pipelines.pop(pipeline, None)
            kept = [entry for entry in self._audit if not entry.resource.startswith(prefix)]
            if len(kept) != len(self._audit):
                self._audit.clear()
                self._audit.extend(kept)

    def _remember_tags(self, run_id: str, tags: Tags) -> None:
        """Keep a tagged run's tags (the memory store has no run rows), bounded like records."""
        if tags:
            self._tags[run_id] = tags
            if len(self._tags) > self._max:
                del self._tags[next(iter(self._tags))]

    def run_tags(self, run_id: str) -> Tags:
        with self._lock:
            return self._tags.get(run_id, EMPTY)

    # --- audit ---------------------------------------------------------------------
    def audit(self, entry: AuditEntry) -> None:
        with self._lock:
            self._audit.append(entry)

    def audit_entries(self, limit: int) -> list[AuditEntry]:
        with self._lock:
            return list(reversed(self._audit))[:limit]

    # --- lineage -------------------------------------------------------------------
    def record_lineage(
        self, pipeline: str, run_id: str, asset: str, partition_key: str, upstream: Sequence[tuple[str, str]]
    ) -> None:
        with self._lock:
            self._state(pipeline).link((asset, partition_key), upstream)

    def record_lineage_many(self, records: Sequence[LineageRecord]) -> None:
        for pipeline, run_id, asset, partition_key, upstream in records:
            self.record_lineage(pipeline, run_id, asset, partition_key, upstream)

    def upstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        with self._lock:
            state = self._pipelines.get(pipeline)
            return list(state.upstream.get((asset, partition_key), ())) if state else []

    def upstream_versions(
        self, pipeline: str, asset: str, partition_key: str
    ) -> list[tuple[str, str, str | None]]:
        with self._lock:
            state = self._pipelines.get(pipeline)
            key = (asset, partition_key)
            if state is None or key not in state.upstream:
                return []
            return [(*up, v) for up, v in zip(state.upstream[key], state.versions[key], strict=True)]

    def downstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        with self._lock:
            state = self._pipelines.get(pipeline)
            return sorted(state.downstream.get((asset, partition_key), ())) if state else []
