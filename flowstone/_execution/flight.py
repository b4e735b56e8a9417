"""What a scheduler keeps per partition run and per message to a runner, and how it
builds the task for one attempt."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._execution.mapped import mapped_deps
from flowstone._execution.task import (
    Chain,
    Materialize,
    MaterializeChain,
    MaterializeMany,
    Outcome,
    Reply,
    RunnerDown,
    Task,
)
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone._retry import Retry
from flowstone._store.records import CompletionFence, Failure, RunStart, WholeRun
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone.io import IOManager

__all__ = ["ChunkSizer", "Dispatch", "InFlight", "PartitionRun", "TaskMaker", "close_timed_out"]

log = get_logger("flowstone")

_UNSET: Any = object()
_SINGLE = [0]  # the progress of every one-task message: never written
_NONE: frozenset[str] = frozenset()  # the absent dependencies of a task of a run that skips none


@dataclass(slots=True, eq=False)
class PartitionRun:
    """One target asset for one partition, with the assets it must run first."""

    run_id: str
    partition: partitions.Partition
    partition_key: str
    target: str
    deadline: float | None = None
    timeout: float | None = None  # how long it may run; a deadline renewed after waiting
    waiting: dict[str, int] = field(default_factory=dict)
    remaining: int = 0
    value: Any = _UNSET
    error: BaseException | None = None
    timed_out: bool = False
    finished: bool = False
    premarked: set[str] = field(default_factory=set)  # recorded running by start_run
    # Encoded values for dependants not dispatched yet, and how many of those each awaits.
    payloads: dict[str, bytes | str] = field(default_factory=dict)
    consumers: dict[str, int] = field(default_factory=dict)
    # A deferred run (``Scheduler.begin(deferred=True)``) is not in the store while it
    # runs: ``start`` is its start, and ``ended`` the whole run to record once finished.
    start: RunStart | None = None
    ended: WholeRun | None = None
    # Durable waits: the plan and options to resume it with, the assets suspended now,
    # and what runs in place of the asset that resumes (flowstone._waits).
    plan: tuple[str, ...] = ()
    options: Any = None
    job_id: int | None = None
    suspended: set[str] = field(default_factory=set)
    resumptions: dict[str, Any] = field(default_factory=dict)
    parked: bool = False  # ended waiting: resumed later, by whoever resolves its wait
    pipeline: Any = None  # the Pipeline, for a suspension to name it
    # Assets of the plan that will not run (flowstone/_execution/skips.py), and the kinds
    # of asset that ran in it and want to hear that it ended (AssetKind.run_ended).
    skipped: set[str] = field(default_factory=set)
    cleanups: set[Any] = field(default_factory=set)
    tags: Mapping[str, str] = field(default_factory=dict)  # the caller's run tags (issue 19)
    # Upstream partitions materialized for another run, under its id (RunStart.nested):
    # its target's completion does not end that run.
    nested: bool = False
    # Continuations (flowstone/_execution/chains.py): the assets whose tasks a runner
    # will go on to, made before they are ready; and the chains, stopped when it ends.
    ahead: set[str] = field(default_factory=set)
    chains: list[Chain] = field(default_factory=list)

    def ended_with(self, failure: Failure | None) -> None:
        """A deferred run's failure, to record with it (nothing for another run)."""
        if failure is not None and self.start is not None:
            self.ended = WholeRun(start=self.start, failure=failure, partition=self.partition)


@dataclass(slots=True, eq=False)
class Dispatch:
    """One message to one runner: one task, or a chunk of fast deferred tasks it runs in
    order. ``left`` counts its tasks still in flight; the runner is busy until none is."""

    tasks: tuple[Task, ...]
    left: int = 0
    held: list[tuple[Task, ...]] = field(default_factory=list)  # what its runner's watch reports
    # Written by the runner of a chunk: the index of the task it is on (those before it
    # are done, those after it not started). A single task's message shares a constant.
    progress: list[int] = field(default_factory=lambda: _SINGLE)
    # A chain's message: its tasks are ``chain.tasks``, of which only the one at ``link``
    # (the runner's, as far as the scheduler knows) is in flight.
    chain: Chain | None = None
    link: int = 0

    def waiting(self, task: Task) -> bool:
        """Whether ``task`` waits behind another of this message, or is done."""
        if self.chain is not None:
            return False  # a chain's task in flight is the one its runner is on
        return self.tasks.index(task) != self.progress[0]

    def went_on(self, item: Outcome | RunnerDown) -> Task | None:
        """The task of this chain that its runner went on to after ``item``, or None.

        Decided as the runner decides (``RunnerActor._execute_chain``, ``Chain.advance``):
        after a success, up to ``chain.last``, which the runner moves only before it tells
        the outcome after which it stops.
        """
        chain = self.chain
        if chain is None:
            return None
        following = self.link + 1
        went_on = isinstance(item, Outcome) and item.ok and not item.task.abandoned.is_set()
        if not went_on or not chain.allows(following):
            return None
        self.link = following
        return chain.tasks[following]

    def unstarted(self, run: PartitionRun) -> list[Task]:
        """A chain that ended: the ready tasks after the last one its runner started, to
        queue again. Those made ahead of time are no longer ahead: they become ready the
        ordinary way, once the task before them succeeds."""
        assert self.chain is not None
        ready = []
        for task in self.chain.tasks[self.link + 1 :]:
            name = task.asset.name
            if name in run.ahead:
                run.ahead.discard(name)
            else:
                ready.append(task)
                if task.premarked:  # still recorded running: its next task knows it
                    run.premarked.add(name)
        return ready

    def land(self) -> bool:
        """One of its tasks left the air; True once all have (its runner is free then)."""
        self.left -= 1
        if self.left:
            return False
        if self.held:  # watched: not a task its scheduler's thread ran (``runner.run_here``)
            self.held[0] = ()
        return True

    def message(self, reply: Reply) -> Materialize | MaterializeChain | MaterializeMany:
        """What its runner is told: a task, a chain, or a chunk (whose progress it writes)."""
        if self.chain is not None:
            return MaterializeChain(self.chain, reply)
        if len(self.tasks) == 1:
            return Materialize(self.tasks[0], reply)
        self.progress = [0]
        return MaterializeMany(self.tasks, reply, self.progress)

    def on_runner_down(self, completions: Reply) -> Callable[[str], None]:
        """What its runner's watch calls if the runner dies: each task of the message
        reported down. It reads ``held``, emptied once the message is answered: the
        watch keeps its last callback (RunnerPool.watch), which must not keep a finished
        run, or its pipeline, alive."""
        self.held = held = [self.tasks]

        def down(reason: str) -> None:
            for task in held[0]:
                completions.put(RunnerDown(task, reason))

        return down


@dataclass(slots=True, eq=False)
class InFlight:
    """A task sent to a runner and not answered yet; ``deadline`` is its own timeout's."""

    run: PartitionRun
    task: Task
    dispatch: Dispatch
    deadline: float | None


@dataclass(slots=True)
class ChunkSizer:
    """How many fast tasks go to a runner in one message: about ``budget`` seconds of
    work by the durations seen so far, between 1 and ``limit``.

    A message to a runner and its answer cost two thread switches, tens of microseconds:
    more than a cheap asset. Slow assets keep one task per message, so a partition never
    waits behind others for long.
    """

    budget: float = 0.002
    limit: int = 16
    size: int = 1
    _mean: float | None = None

    def observe(self, seconds: float) -> None:
        mean = seconds if self._mean is None else 0.8 * self._mean + 0.2 * seconds
        self._mean = mean
        # Comparisons, not max(min(...)): this runs once per outcome (issue 22).
        size = int(self.budget / mean) if mean > 1e-6 else int(self.budget / 1e-6)
        self.size = 1 if size < 1 else self.limit if size > self.limit else size


class TaskMaker:
    """Builds the ``Task`` for one attempt at one asset of a run, and keeps the encoded
    values that a run's dependants receive with their tasks."""

    def __init__(
        self,
        pipeline: Pipeline,
        services: Services,
        retry: Retry | None,
        first_attempt: int,
        target_fence: CompletionFence | None,
    ) -> None:
        self._pipeline = pipeline
        self._services = services
        self._retry = retry
        self._first_attempt = first_attempt
        self._target_fence = target_fence
        # What a task needs of its asset's definition and the node, the same for every
        # partition, attempt and run: worked out once per asset and node (issue 22).
        pipeline.validate()  # closed: its assets no longer change, so their parts may be kept
        self.dependants = pipeline.dependants  # read per task: not through the property
        self._local_deps = pipeline.local_deps
        self._static: dict[str, tuple[AssetDef, IOManager, tuple[tuple[str, IOManager], ...], Any]] = (
            services.task_parts.setdefault(pipeline, {})
        )

    def _of(self, asset: str) -> tuple[AssetDef, IOManager, tuple[tuple[str, IOManager], ...], Any]:
        found = self._static.get(asset)
        if found is None:
            pipeline, services = self._pipeline, self._services
            definition = pipeline.get(asset)
            # Only the dependencies its function takes are loaded: decided here, once per
            # asset, not per dependency of each task (a fan-in's ``params`` is a tuple, so
            # that check cost the square of its dependencies, issue 22).
            takes = set(definition.params)
            found = self._static[asset] = (
                definition,
                services.resolve_io(definition.options.io),
                tuple(
                    (dep, services.resolve_io(pipeline.get(dep).options.io))
                    for dep in definition.deps
                    if dep in takes
                ),
                mapped_deps(pipeline, asset, services),
            )
        return found

    def definition(self, asset: str) -> AssetDef:
        """The definition of ``asset`` (kept, as the rest of what its tasks need)."""
        return self._of(asset)[0]

    def first_attempt(self, run: PartitionRun, asset: str) -> int:
        """The number of ``asset``'s first try in ``run``: a job's attempt for its target,
        1 for the assets it needs (their own policies count their tries, as in node.run)."""
        return self._first_attempt if asset == run.target else 1

    def make(self, run: PartitionRun, asset: str, attempt: int) -> Task:
        definition, io, dep_io, mapped = self._of(asset)
        is_target = asset == run.target
        override = self._retry if is_target else None
        kind = definition.kind
        if kind.cleans_up:
            run.cleanups.add(kind)
        skipped = run.skipped
        task = Task(
            run_id=run.run_id,
            pipeline=self._pipeline.name,
            asset=definition,
            partition=run.partition,
            partition_key=run.partition_key,
            attempt=attempt,
            retry=override or definition.options.retry or self._services.default_retry,
            io=io,
            dep_io=dep_io,
            is_target=is_target and not run.nested,
            premarked=attempt == 1 and asset in run.premarked,
            # A value that may rule its dependants out makes none of them running.
            then_running=() if kind.rules_out else self.made_ready_by(run, asset),
            # Most runs keep no payloads (values in memory, or the store reads them back).
            dep_payloads=self._payloads_for(
                run, self._local_deps[asset], attempt == self.first_attempt(run, asset)
            )
            if run.payloads
            else {},
            fence=self._target_fence if is_target else None,
            deferred=run.start is not None,
            resume=run.resumptions.get(asset) if run.resumptions else None,
            run=run,
            absent=frozenset(d for d in definition.deps if d in skipped) if skipped else _NONE,
            mapped=mapped,
        )
        run.premarked.discard(asset)
        return task

    def keep_payload(self, run: PartitionRun, asset: str, payload: bytes | str | None) -> None:
        """Keep ``asset``'s encoded value for the dependants in ``run`` that will need it."""
        if payload is None:
            return
        ahead, waiting = run.ahead, run.waiting  # made already, by a chain (chains.py): they have it
        consumers = 0
        for dependant in self.dependants.get(asset, ()):
            if dependant in waiting and dependant not in ahead:
                consumers += 1
        if consumers:
            run.payloads[asset] = payload
            run.consumers[asset] = consumers

    def _payloads_for(self, run: PartitionRun, deps: tuple[str, ...], first: bool) -> dict[str, bytes | str]:
        """The encoded values ``deps`` produced in this run, for a dependant's ``first``
        try or a retry; each is dropped once every planned dependant has had its first
        (a retry reads the value back from the store)."""
        found: dict[str, bytes | str] = {}
        for dep in deps:
            payload = run.payloads.get(dep)
            if payload is None:
                continue
            found[dep] = payload
            if first:
                left = run.consumers[dep] - 1
                run.consumers[dep] = left
                if left <= 0:
                    del run.payloads[dep]
        return found

    def made_ready_by(self, run: PartitionRun, asset: str) -> tuple[str, ...]:
        """Dependants waiting on ``asset`` alone: its completion records them running."""
        if self._first_attempt != 1:
            return ()
        waiting = run.waiting
        ready = []  # a plain loop: a generator per task cost more than its few dependants
        for dependant in self.dependants.get(asset, ()):
            if waiting.get(dependant) == 1:
                ready.append(dependant)
        return tuple(ready)


def close_timed_out(run: PartitionRun, cause: BaseException, attempts: int, services: Services) -> None:
    """Record the end of a run that timed out with no attempt in flight."""
    if run.start is not None:  # deferred: it timed out waiting to retry
        run.ended = WholeRun.failed(
            run.start,
            error=f"{type(cause).__name__}: {cause}",
            attempts=attempts,
            at=datetime.now(UTC),
            actor=services.node_id,
            partition=run.partition,
        )
        return
    try:
        services.store.finish_run(
            run.run_id,
            status="failed",
            at=datetime.now(UTC),
            error=f"{type(cause).__name__}: {cause}",
            actor=services.node_id,
        )
    except Exception as exc:  # noqa: BLE001 - reported to the caller, never swallowed
        log.error("run.failure_not_recorded", run_id=run.run_id, error=str(exc))
