"""Backfill: one target asset over many partitions, lazily, with bounded parallelism."""

from __future__ import annotations

import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from typing import Literal

from flowstone import partitions
from flowstone._execution.plan import plan_run
from flowstone._execution.scheduler import PartitionRun, Scheduler
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone.errors import FlowStoneError
from flowstone.events import BackfillProgress
from supervisors._log import get_logger

__all__ = ["BackfillOptions", "BackfillReport", "PartitionResult", "run_backfill"]

log = get_logger("flowstone")

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """How one partition of a backfill ended.

    ``status`` is ``succeeded``, ``failed``, ``skipped`` (already materialized, or left
    unrun after a halt) or ``timed_out``.
    """

    partition: partitions.Partition
    status: Literal["succeeded", "failed", "skipped", "timed_out"]
    run_id: str | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class BackfillReport:
    """Counters of a finished backfill, and the partitions that failed or timed out."""

    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    timed_out: int = 0
    failures: list[PartitionResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.skipped + self.timed_out

    def add(self, result: PartitionResult) -> None:
        if result.status == "succeeded":
            self.succeeded += 1
        elif result.status == "skipped":
            self.skipped += 1
        else:
            if result.status == "failed":
                self.failed += 1
            else:
                self.timed_out += 1
            self.failures.append(result)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackfillOptions:
    parallel: int
    timeout: float
    force: bool
    on_error: Literal["continue", "halt"]
    progress: Progress | None


def run_backfill(
    pipeline: Pipeline,
    asset: str,
    items: Iterable[partitions.Partition],
    options: BackfillOptions,
    services: Services,
) -> Iterator[PartitionResult]:
    """Yield one result per partition as it finishes; at most ``parallel`` in flight.

    Partitions are pulled from ``items`` only when a slot is free, and nothing is kept
    about a finished partition, so memory does not grow with the number of partitions.
    """
    total = len(items) if isinstance(items, Sized) else None
    source = iter(items)
    ahead = _Lookahead(pipeline, asset, source, services, window=min(8 * options.parallel, 256))
    scheduler = Scheduler(pipeline, services)
    done = failed = 0
    halted = False

    def report(result: PartitionResult) -> PartitionResult:
        nonlocal done, failed
        done += 1
        if result.status in ("failed", "timed_out"):
            failed += 1
        if options.progress is not None:
            options.progress(done, total)
        if services.events.active:
            services.events.emit(BackfillProgress(pipeline.name, asset, done, total, failed))
        return result

    while True:
        while not halted and scheduler.active < options.parallel:
            item = ahead.next()
            if item is None:
                break
            started = _start(pipeline, asset, item, options, scheduler)
            if isinstance(started, PartitionResult):
                yield report(started)
                halted = halted or (started.status == "failed" and options.on_error == "halt")
        if scheduler.active == 0:
            break
        for run in scheduler.wait():
            result = _result(run)
            yield report(result)
            if result.status != "succeeded" and options.on_error == "halt" and not halted:
                halted = True
                log.warning(
                    "backfill.halted",
                    pipeline=pipeline.name,
                    asset=asset,
                    partition=run.partition_key,
                )
    if halted:
        for partition in ahead.rest():
            yield report(PartitionResult(partition, "skipped"))


@dataclass(frozen=True, slots=True)
class _Next:
    """A partition about to start, with what was materialized for it when looked up."""

    partition: partitions.Partition
    key: str
    done: set[str]
    error: FlowStoneError | None = None


class _Lookahead:
    """Pulls partitions a window at a time and looks up what is materialized for the whole
    window in one query, instead of one query per partition.

    The window is small (8 per parallel slot) so that the answers stay fresh: a partition
    materialized elsewhere in between is run again, which at-least-once allows.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        asset: str,
        source: Iterator[partitions.Partition],
        services: Services,
        window: int,
    ) -> None:
        self._pipeline = pipeline
        self._asset = asset
        self._closure = pipeline.closure(asset)
        self._source = source
        self._services = services
        self._window = max(window, 1)
        self._buffer: deque[_Next] = deque()

    def next(self) -> _Next | None:
        if not self._buffer:
            self._fill()
        return self._buffer.popleft() if self._buffer else None

    def rest(self) -> Iterator[partitions.Partition]:
        """The partitions not started: those buffered, then the source's."""
        while self._buffer:
            yield self._buffer.popleft().partition
        yield from self._source

    def _fill(self) -> None:
        definition = self._pipeline.get(self._asset)
        valid: list[tuple[partitions.Partition, str]] = []
        for partition in itertools.islice(self._source, self._window):
            try:
                key = partitions.serialize(partition)
                definition.check_partition(self._pipeline.name, partition)
            except FlowStoneError as exc:
                self._buffer.append(_Next(partition, "", set(), exc))
                continue
            valid.append((partition, key))
        if not valid:
            return
        keys = [key for _, key in valid]
        try:
            done = self._services.done_assets_many(self._pipeline, keys, self._closure)
        except FlowStoneError as exc:  # the store is down: each of these partitions fails
            self._buffer.extend(_Next(p, k, set(), exc) for p, k in valid)
            return
        self._buffer.extend(_Next(p, k, done.get(k, set())) for p, k in valid)


def _start(
    pipeline: Pipeline,
    asset: str,
    item: _Next,
    options: BackfillOptions,
    scheduler: Scheduler,
) -> PartitionResult | None:
    partition, key = item.partition, item.key
    if item.error is not None:
        return PartitionResult(partition, "failed", error=item.error)
    try:
        plan = plan_run(
            pipeline, asset, partition, force=options.force, with_deps=True, is_done=item.done.__contains__
        )
    except FlowStoneError as exc:
        return PartitionResult(partition, "failed", error=exc)
    if not plan:
        return PartitionResult(partition, "skipped")
    run = PartitionRun(uuid.uuid4().hex, partition, key, asset, deadline=time.monotonic() + options.timeout)
    scheduler.begin(run, plan, {"force": options.force, "timeout": options.timeout, "backfill": True})
    return None


def _result(run: PartitionRun) -> PartitionResult:
    if run.timed_out:
        return PartitionResult(run.partition, "timed_out", run.run_id, run.error)
    if run.error is not None:
        return PartitionResult(run.partition, "failed", run.run_id, run.error)
    return PartitionResult(run.partition, "succeeded", run.run_id)
