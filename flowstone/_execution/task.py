"""The messages between a run's scheduler and the runner actors."""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowstone._asset import AssetDef
from flowstone._retry import Retry
from flowstone._store.records import Completion, CompletionFence, Failure
from flowstone.io import AssetKey, IOManager
from flowstone.partitions import Partition

__all__ = [
    "Chain",
    "Flag",
    "Materialize",
    "MaterializeChain",
    "MaterializeMany",
    "Outcome",
    "Outcomes",
    "Reply",
    "RunnerDown",
    "Task",
    "Wake",
]


class Flag:
    """Set once by the scheduler, read by a runner: ``threading.Event`` without its
    condition and lock (nothing waits on it), a tenth of the cost per task."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


@dataclass(slots=True, eq=False)
class Task:
    """One attempt at one asset for one partition.

    Not frozen, as nothing changes it after it is made: a frozen dataclass's ``__init__``
    sets each of these fields through ``object.__setattr__``, which doubled the cost of
    making one, once per asset (issue 22).
    """

    run_id: str
    pipeline: str
    asset: AssetDef
    partition: Partition
    partition_key: str
    attempt: int
    retry: Retry
    io: IOManager
    dep_io: tuple[tuple[str, IOManager], ...]  # of the dependencies its function takes
    is_target: bool
    premarked: bool = False  # the store already recorded this first attempt as running
    then_running: tuple[str, ...] = ()  # dependants recorded running with this completion
    # Encoded values of dependencies computed earlier in this run: decoded, not re-read.
    dep_payloads: Mapping[str, bytes | str] = field(default_factory=dict)
    fence: CompletionFence | None = None  # applied in the target's completion transaction
    # Recorded by its scheduler after it ends (a backfill's batch): the attempt writes no
    # record, and its outcome carries the completion or failure to record.
    deferred: bool = False
    abandoned: Flag = field(default_factory=Flag)
    # What runs in the asset's place when it resumes from a durable wait (flowstone._waits).
    resume: Any = None
    run: Any = None  # the scheduler's PartitionRun, for a suspension to say what resumes it
    # Dependencies skipped in this run (routing): the asset takes them as optional, and
    # gets None for them; no lineage is recorded from them.
    absent: frozenset[str] = frozenset()
    # Dependencies read through a partition mapping (flowstone._execution.mapped), and
    # the (asset, partition key) pairs this attempt read through them: its lineage.
    mapped: Mapping[str, Any] = field(default_factory=dict)
    reads: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> AssetKey:
        return AssetKey(self.pipeline, self.asset.name, self.partition_key)


@dataclass(slots=True, eq=False)
class Outcome:
    """What an attempt produced: a value, or an error and whether to retry after a delay.

    Not frozen, like ``Task``: one is made per attempt, and nothing changes it after.
    """

    task: Task
    ok: bool
    value: Any = None
    error: BaseException | None = None
    retry_in: float | None = None
    payload: bytes | str | None = None  # the value as stored in the database, if it was
    completion: Completion | None = None  # a deferred task's, to record
    failure: Failure | None = None  # a deferred task's final failure, to record
    suspended: bool = False  # the asset waits durably (a gate, an approval): nothing to store yet
    # Not admitted (its rate or slots, flowstone/_admission): send the same attempt again then.
    wait_in: float | None = None


@dataclass(frozen=True, slots=True, eq=False)
class RunnerDown:
    """The runner executing ``task`` ended before it answered."""

    task: Task
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class Outcomes:
    """The outcomes of a ``MaterializeMany``, in one message."""

    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True, slots=True)
class Wake:
    """A slot of ``key`` was released in this process: tasks waiting for it may start."""

    key: str


Reply = queue.SimpleQueue[Outcome | Outcomes | RunnerDown | Wake]


@dataclass(frozen=True, slots=True, eq=False)
class Materialize:
    """Run ``task`` and put the ``Outcome`` on ``reply``."""

    task: Task
    reply: Reply


@dataclass(frozen=True, slots=True, eq=False)
class MaterializeMany:
    """Run ``tasks`` one after the other, skipping any abandoned before its turn, and put
    their ``Outcomes`` on ``reply`` in one message."""

    tasks: tuple[Task, ...]
    reply: Reply
    progress: list[int]  # the runner sets progress[0] to the index of the task it starts


class Chain:
    """Tasks of one run that one runner does one after the other, each made ready by the
    one before it alone: a continuation (issue 22), which saves the two thread hand-offs
    through the scheduler per link of a chain of assets.

    The scheduler made every task (its bookkeeping stays its own) and counts the one the
    runner is on as in flight. The runner goes on to the next task only after a success,
    through ``advance``; the scheduler ends the chain early with ``stop`` (its run ended).
    Both take the lock, so that they agree on the last task the runner may start: ``at``
    is written by the runner; ``last`` by the scheduler, or by the runner before it tells
    the outcome after which it stops, so that the scheduler reads it in time.
    """

    __slots__ = ("_lock", "at", "last", "tasks")

    def __init__(self, tasks: tuple[Task, ...]) -> None:
        self.tasks = tasks
        self.at = 0
        self.last = len(tasks) - 1
        self._lock = threading.Lock()

    def advance(self) -> Task | None:
        """The runner's next task, or None: the chain ends here."""
        with self._lock:
            if self.at >= self.last:
                return None
            self.at += 1
            return self.tasks[self.at]

    def stop(self) -> None:
        """No task after the one the runner is on starts: called by the scheduler (the
        run ended), or by the runner before it answers (its node is stopping)."""
        with self._lock:
            self.last = self.at

    def allows(self, index: int) -> bool:
        """Whether the runner goes on to ``tasks[index]`` after a success of the one before."""
        with self._lock:
            return index <= self.last

    def ran_abandoned(self) -> bool:
        """Whether a task the runner started was given up on (a timeout): it retires."""
        return any(task.abandoned.is_set() for task in self.tasks[: self.at + 1])


@dataclass(frozen=True, slots=True, eq=False)
class MaterializeChain:
    """Run ``chain``'s tasks in order while each succeeds, putting each ``Outcome`` on
    ``reply`` as it is known (the last after the runner is idle again)."""

    chain: Chain
    reply: Reply
