"""Backfill: one target asset over many partitions, lazily, with bounded parallelism."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from typing import Literal

from flowstone import partitions
from flowstone._execution.plan import plan_run
from flowstone._execution.recording import RunRecorder
from flowstone._execution.run import record_unstarted
from flowstone._execution.scheduler import PartitionRun, Scheduler
from flowstone._execution.upstream import Reader, run_window_upstream
from flowstone._ids import new_id
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone._routing.options import SKIPPED
from flowstone.errors import FlowStoneError
from flowstone.events import BackfillProgress
from supervisors._log import get_logger

__all__ = ["BackfillOptions", "BackfillReport", "PartitionResult", "run_backfill"]

log = get_logger("flowstone")

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """How one partition of a backfill ended.

    ``status`` is ``succeeded``, ``failed``, ``skipped``, ``timed_out``, or ``waiting``
    (its asset waits durably: a gate or an approval resumes it later); ``reason`` says
    why one was skipped: ``"stored"`` (already materialized), ``"halted"`` (left unrun
    after a halt) or ``"not_selected"`` (no router selected it, or a dependency it needs,
    for that partition: nothing is stored for it).
    """

    partition: partitions.Partition
    status: Literal["succeeded", "failed", "skipped", "timed_out", "waiting"]
    run_id: str | None = None
    error: BaseException | None = None
    reason: Literal["stored", "halted", "not_selected"] | None = None


@dataclass(slots=True)
class BackfillReport:
    """Counters of a finished backfill, and the partitions that failed or timed out.

    ``not_selected`` counts the skipped partitions that routing skipped (among ``skipped``).
    """

    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    timed_out: int = 0
    waiting: int = 0
    failures: list[PartitionResult] = field(default_factory=list)
    not_selected: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.skipped + self.timed_out + self.waiting

    def add(self, result: PartitionResult) -> None:
        if result.status == "succeeded":
            self.succeeded += 1
        elif result.status == "skipped":
            self.skipped += 1
            if result.reason == "not_selected":
                self.not_selected += 1
        elif result.status == "waiting":
            self.waiting += 1
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
    tags: Mapping[str, str] = field(default_factory=dict)  # every partition's run has them


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
    return _Backfill(pipeline, asset, items, options, services).results()


class _Backfill:
    """The state of one backfill call: what is started, reported and halted."""

    def __init__(
        self,
        pipeline: Pipeline,
        asset: str,
        items: Iterable[partitions.Partition],
        options: BackfillOptions,
        services: Services,
    ) -> None:
        self._pipeline = pipeline
        self._asset = asset
        self._options = options
        self._services = services
        self._total = len(items) if isinstance(items, Sized) else None
        self._ahead = _Lookahead(
            pipeline,
            asset,
            iter(items),
            services,
            window=8 * options.parallel,
            tags=options.tags,
            parallel=options.parallel,
        )
        # At most ``parallel`` runners at once; each may take several partitions of a cheap
        # asset per message (Scheduler.chunk_size), so more runs than that are started.
        self._scheduler = Scheduler(pipeline, services, max_runners=options.parallel)
        # A store written before ``run_batch`` existed records each run as it happens.
        run_batch: int = getattr(services.store, "run_batch", 0)
        self._recorder = RunRecorder(services, max_runs=max(run_batch, 1))
        self._batched = run_batch > 0
        self._done = self._failed = 0
        self._halted = False

    def results(self) -> Iterator[PartitionResult]:
        scheduler, recorder = self._scheduler, self._recorder
        try:
            while True:
                yield from self._start_more()
                if scheduler.active == 0:
                    break
                yield from self._take(scheduler.wait(timeout=recorder.wait_limit()))
            yield from self._recorded()
        finally:
            # The caller stopped iterating: the runs in flight finish, and everything
            # that finished is recorded, as it would have been one run at a time.
            while scheduler.active:
                for run in scheduler.wait():
                    if run.start is not None:
                        recorder.add(run)
            recorder.flush()
        if self._halted:
            for partition in self._ahead.rest():
                yield self._report(PartitionResult(partition, "skipped", reason="halted"))

    def _take(self, finished: list[PartitionRun]) -> Iterator[PartitionResult]:
        """Report runs that finished, or add them to the batch to record."""
        recorder = self._recorder
        for run in finished:
            self._halt_on(run)
            if run.start is None:
                yield self._report(_result(run))
                continue
            recorder.add(run)  # reported once recorded
            if recorder.full:
                yield from self._recorded()
        if recorder.due:
            yield from self._recorded()
        if self._halted:  # partitions started in advance but not sent: never run
            for run in self._scheduler.drop_waiting():
                yield self._report(PartitionResult(run.partition, "skipped", reason="halted"))

    def _recorded(self) -> Iterator[PartitionResult]:
        """Record the batch; its results (a run the store refused to record has failed)."""
        for run in self._recorder.flush():
            self._halt_on(run)
            yield self._report(_result(run))

    def _start_more(self) -> Iterator[PartitionResult]:
        """Start partitions while a slot is free; those that end at once, as results."""
        scheduler = self._scheduler
        while not self._halted and scheduler.active < self._options.parallel * scheduler.chunk_size:
            item = self._ahead.next()
            if item is None:
                return
            started = _start(self._pipeline, self._asset, item, self._options, self._scheduler, self._batched)
            if isinstance(started, PartitionResult):
                yield self._report(started)
                if started.status == "failed" and self._options.on_error == "halt":
                    self._halted = True

    def _report(self, result: PartitionResult) -> PartitionResult:
        self._done += 1
        if result.status in ("failed", "timed_out"):
            self._failed += 1
        if self._options.progress is not None:
            self._options.progress(self._done, self._total)
        if self._services.events.active:
            self._services.events.emit(
                BackfillProgress(self._pipeline.name, self._asset, self._done, self._total, self._failed)
            )
        return result

    def _halt_on(self, run: PartitionRun) -> None:
        if run.error is not None and self._options.on_error == "halt" and not self._halted:
            self._halted = True
            log.warning(
                "backfill.halted",
                pipeline=self._pipeline.name,
                asset=self._asset,
                partition=run.partition_key,
            )


@dataclass(frozen=True, slots=True)
class _Next:
    """A partition about to start, with what was materialized for it when looked up."""

    partition: partitions.Partition
    key: str
    done: set[str]
    error: FlowStoneError | None = None
    run_id: str = ""  # the run's id, made when looked up: its upstream partitions run under it


class _Lookahead:
    """Pulls partitions a window at a time and looks up what is materialized for the whole
    window in one query, instead of one query per partition.

    The first window is small (8 per parallel slot), so that a backfill starts at once
    and pulls little from its source before its first result; each next window is twice
    as large, up to ``MAX_WINDOW``. A partition materialized elsewhere between the query
    and its turn is run again, which at-least-once allows.
    """

    MAX_WINDOW = 256

    def __init__(
        self,
        pipeline: Pipeline,
        asset: str,
        source: Iterator[partitions.Partition],
        services: Services,
        window: int,
        tags: Mapping[str, str] | None = None,
        parallel: int = 1,
    ) -> None:
        self._pipeline = pipeline
        self._parallel = parallel
        self._upstream: Scheduler | None = None  # runs the mapped upstream partitions missing
        self._tags = tags
        self._asset = asset
        self._closure = pipeline.closure(asset)
        self._seen: set[tuple[str, str]] = set()  # mapped upstream partitions known done
        self._source = source
        self._services = services
        self._window = min(max(window, 1), self.MAX_WINDOW)
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
        size, self._window = self._window, min(self._window * 2, self.MAX_WINDOW)
        for partition in itertools.islice(self._source, size):
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
        readers: list[Reader | None] = []
        for partition, key in valid:
            stored = done.get(key, set())
            if self._asset in stored:  # reused: nothing runs for it
                readers.append(None)
                continue
            planned = [a for a in self._closure if a not in stored]
            readers.append(Reader(partition, planned, new_id()))
        # What the runs read through mappings first, for the whole window at once.
        mapped = [r for r in readers if r is not None and any(self._pipeline.mappings(a) for a in r.planned)]
        if mapped:
            if self._upstream is None:  # kept: its chunk size carries over to the next window
                self._upstream = Scheduler(
                    self._pipeline, self._services, max_runners=self._parallel, chunk_nested=True
                )
            run_window_upstream(
                self._pipeline, mapped, self._services, self._seen, tags=self._tags, scheduler=self._upstream
            )
        for (partition, key), reader in zip(valid, readers, strict=True):
            if reader is None:
                self._buffer.append(_Next(partition, key, done.get(key, set())))
                continue
            if reader.error is not None:
                record_unstarted(
                    self._pipeline,
                    self._asset,
                    key,
                    list(reader.planned),
                    reader.run_id,
                    self._services,
                    self._tags,
                    reader.error,
                )
            self._buffer.append(_Next(partition, key, done.get(key, set()), reader.error, reader.run_id))


def _start(
    pipeline: Pipeline,
    asset: str,
    item: _Next,
    options: BackfillOptions,
    scheduler: Scheduler,
    batched: bool,
) -> PartitionResult | None:
    partition, key = item.partition, item.key
    if item.error is not None:
        return PartitionResult(partition, "failed", item.run_id or None, error=item.error)
    try:
        plan = plan_run(
            pipeline, asset, partition, force=options.force, with_deps=True, is_done=item.done.__contains__
        )
    except FlowStoneError as exc:
        return PartitionResult(partition, "failed", error=exc)
    if not plan:
        return PartitionResult(partition, "skipped", reason="stored")
    run_id = item.run_id or new_id()
    # Timed from its first task sent (Deadlines._start_clocks), not from now: it may wait.
    run = PartitionRun(run_id, partition, key, asset, timeout=options.timeout)
    run.tags = options.tags
    # A one-asset run is recorded after it ends, in a batch with others (RunRecorder).
    scheduler.begin(
        run,
        plan,
        {"force": options.force, "timeout": options.timeout, "backfill": True},
        deferred=batched and len(plan) == 1,
    )
    return None


def _result(run: PartitionRun) -> PartitionResult:
    if run.parked:
        return PartitionResult(run.partition, "waiting", run.run_id)
    if run.timed_out:
        return PartitionResult(run.partition, "timed_out", run.run_id, run.error)
    if run.error is not None:
        return PartitionResult(run.partition, "failed", run.run_id, run.error)
    if run.value is SKIPPED:
        return PartitionResult(run.partition, "skipped", run.run_id, reason="not_selected")
    return PartitionResult(run.partition, "succeeded", run.run_id)
