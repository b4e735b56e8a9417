"""Deferred runs recorded in batches: one transaction for many small materializations.

A backfill of a cheap asset spends most of its time committing: a start and a
completion per partition. Its one-asset runs are therefore recorded after they end,
a batch at a time (``Store.record_runs``). A partition is reported to the caller only
once its batch is committed, so whatever the caller saw is durable; a crash loses
the records of partitions nobody was told about, and a new backfill runs them again
(at-least-once). A batch is written when it is full or its oldest run has waited
``max_delay`` seconds, so progress stays live when assets are slow. The first batch
holds one run and each next one twice as many, up to ``max_runs``: the first result
comes at once, and a long backfill still commits once per ``max_runs`` partitions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flowstone import partitions
from flowstone._execution.scheduler import PartitionRun
from flowstone._node.services import Services
from flowstone._store.records import WholeRun
from flowstone.errors import MaterializationError
from flowstone.events import EventBus, MaterializationFailed, MaterializationFinished
from supervisors._log import get_logger

__all__ = ["RunRecorder", "emit_recorded"]

log = get_logger("flowstone")


@dataclass(slots=True)
class RunRecorder:
    """Collects deferred runs as they finish and records them a batch at a time."""

    services: Services
    max_runs: int = 64
    max_delay: float = 0.25
    _pending: list[PartitionRun] = field(default_factory=list)
    _since: float = 0.0
    _size: int = 1  # the current batch's size: doubles after each batch, up to max_runs

    def add(self, run: PartitionRun) -> None:
        if not self._pending:
            self._since = time.monotonic()
        self._pending.append(run)

    @property
    def full(self) -> bool:
        """Whether the batch holds as many runs as it may."""
        return len(self._pending) >= self._size

    @property
    def due(self) -> bool:
        """Whether the batch should be written now."""
        if not self._pending:
            return False
        return len(self._pending) >= self._size or time.monotonic() - self._since >= self.max_delay

    def wait_limit(self) -> float | None:
        """How long the caller may block before the batch is due (None: no batch)."""
        if not self._pending:
            return None
        return max(0.0, self._since + self.max_delay - time.monotonic())

    def flush(self) -> list[PartitionRun]:
        """Record the batch in one transaction; its runs, to report.

        If the store refuses the batch, nothing of it is recorded and every run in it
        that had succeeded fails with a ``MaterializationError`` whose ``__cause__``
        says why (one that had failed keeps its own error).
        """
        batch, self._pending = self._pending, []
        if not batch:
            return batch
        self._size = min(self._size * 2, self.max_runs)
        whole = [self._whole(run) for run in batch]
        try:
            self.services.store.record_runs(whole)
        except Exception as exc:  # noqa: BLE001 - reported per partition, never swallowed
            log.error("backfill.batch_not_recorded", runs=len(batch), error=f"{type(exc).__name__}: {exc}")
            for run in batch:
                if run.error is None:
                    run.error = _not_recorded(run, exc)
            return batch
        emit_recorded(self.services.events, whole)
        return batch

    def _whole(self, run: PartitionRun) -> WholeRun:
        if run.ended is not None:
            return run.ended
        assert run.start is not None, "only deferred runs are recorded in batches"
        error = run.error or RuntimeError("the run ended without an outcome")
        return WholeRun.failed(
            run.start,
            error=f"{type(error).__name__}: {error}",
            attempts=1,
            at=datetime.now(UTC),
            actor=self.services.node_id,
            partition=run.partition,
        )


def _not_recorded(run: PartitionRun, cause: Exception) -> MaterializationError:
    where = "" if run.partition is None else f", partition {partitions.describe(run.partition)!r}"
    error = MaterializationError(
        f"asset {run.target!r}{where} (run {run.run_id}) ran, but its records could not be "
        f"written: {type(cause).__name__}: {cause}; it counts as not run: backfill it again "
        "once the store is back",
        asset=run.target,
        partition=run.partition,
        run_id=run.run_id,
    )
    error.__cause__ = cause
    return error


def emit_recorded(events: EventBus, runs: Sequence[WholeRun]) -> None:
    """Send the events of runs just recorded: each finished, or failed."""
    if not events.active:
        return
    for run in runs:
        start, done, failure = run.start, run.completion, run.failure
        if done is not None:
            events.emit(
                MaterializationFinished(
                    start.pipeline,
                    start.asset,
                    run.partition,
                    start.run_id,
                    done.attempts,
                    done.duration_ms,
                    start.tags,
                )
            )
        elif failure is not None:
            events.emit(
                MaterializationFailed(
                    start.pipeline,
                    start.asset,
                    run.partition,
                    start.run_id,
                    failure.attempts,
                    failure.error,
                    start.tags,
                )
            )
