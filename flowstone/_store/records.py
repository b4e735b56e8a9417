"""Records the store keeps, and the views the public API returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeAlias

from flowstone.io import IOManager
from flowstone.partitions import Partition

__all__ = [
    "AuditEntry",
    "Completion",
    "CompletionFence",
    "Failure",
    "MaterializationRecord",
    "RunStart",
    "Skip",
    "State",
    "Status",
    "WholeRun",
]

State: TypeAlias = Literal[
    "completed", "failed", "running", "pending", "waiting", "cancelled", "skipped", "not_found"
]


@dataclass(frozen=True, slots=True)
class MaterializationRecord:
    """One asset/partition materialized (or being materialized) by one run."""

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
    code_version: str | None = None  # of the asset that completed it (staleness)


@dataclass(frozen=True, slots=True)
class Status:
    """Where an asset stands for one partition (``node.status``).

    ``state`` is ``not_found`` for an asset never run for that partition, ``pending``
    for one planned by a run but not started yet, and ``skipped`` for one its run did not
    run because no router selected it (or a dependency it needs was skipped): no value
    is stored for it. ``stale`` says that a completed value would come out differently if
    computed now, and ``stale_reasons`` why (code changed, an upstream materialized again
    since or itself stale: ``flowstone/_staleness.py``).
    """

    state: State
    partition: Partition
    run_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    error: str | None = None
    stale: bool = False
    stale_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStart:
    """A run begins: its row, and a row for every asset it plans: ``running`` for those
    dispatched at once (saving each a transaction of its own), ``pending`` for the rest."""

    run_id: str
    pipeline: str
    asset: str
    partition_key: str
    plan: Sequence[str]
    options: Mapping[str, Any]
    at: datetime
    actor: str
    running: Sequence[str] = ()  # dispatched at once: recorded running (attempt 1) right away
    tags: Mapping[str, str] = field(default_factory=dict)  # the caller's run tags (issue 19)
    #: Upstream partitions a run materializes before its own plan (partition mappings):
    #: their records carry its run id, but it has (or will have) one run row, one start.
    nested: bool = False


class CompletionFence(Protocol):
    """A last statement in a completion's transaction (a job's fenced acknowledgement).

    It returns False when the completion must not count (the job is no longer this
    node's); the whole transaction then rolls back. Only SQL stores apply fences: the
    memory store has no job layer.
    """

    def __call__(self, connection: Any, run_id: str) -> bool: ...


@dataclass(slots=True, kw_only=True)
class Completion:
    """An attempt succeeded; ``finishes_run`` when the asset is its run's target.

    Not frozen: it is internal (an attempt's message to its store and scheduler, never
    handed to users, never hashed), and one is made per materialization; a frozen
    ``__init__`` sets each of its 14 fields through ``object.__setattr__``, 4× the cost
    (about 1.5 µs per asset, issue 22). Nothing changes one after it is made.

    ``then_running`` are dependants this completion makes ready: they are recorded
    running (attempt 1) in the same transaction, saving each a transaction of its own.
    ``lineage`` are the upstream (asset, partition key) values it was computed from, when
    the store records lineage itself: written with the completion, both or neither.
    """

    pipeline: str
    asset: str
    partition_key: str
    run_id: str
    attempts: int
    at: datetime
    duration_ms: float
    finishes_run: bool
    actor: str
    then_running: Sequence[str] = ()
    lineage: Sequence[tuple[str, str]] = ()
    fence: CompletionFence | None = None
    code_version: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)  # the run's, for its end's audit entry


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """An asset failed for good; its run fails with it."""

    pipeline: str
    asset: str
    partition_key: str
    run_id: str
    attempts: int
    at: datetime
    error: str
    actor: str
    status: Literal["failed", "cancelled"] = "failed"
    tags: Mapping[str, str] = field(default_factory=dict)  # the run's, for its end's audit entry


@dataclass(frozen=True, slots=True, kw_only=True)
class Skip:
    """Assets of a run that will not run (routing): recorded ``skipped``, no value.

    ``finishes_run`` when the run's target is among them: the run ends ``skipped``.
    """

    pipeline: str
    partition_key: str
    run_id: str
    assets: Sequence[str]
    at: datetime
    actor: str
    finishes_run: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)  # the run's, for its end's audit entry


@dataclass(frozen=True, slots=True, kw_only=True)
class WholeRun:
    """A single-asset run recorded after it ended: its start and its outcome together.

    A backfill keeps nothing in the store while such a run is in flight and writes a
    batch of them in one transaction, which at-least-once allows: a crash before the
    batch commits loses only the records of runs nobody was told about, and they run
    again. ``payload`` is the value as encoded for an IO manager whose values the store
    writes itself (``Store.holds``); any other IO manager has stored it already.
    """

    start: RunStart
    completion: Completion | None = None
    failure: Failure | None = None
    io: IOManager | None = None  # where ``payload`` goes
    payload: bytes | str | None = None
    partition: Partition = None  # the partition itself, for the events sent once recorded

    @classmethod
    def failed(
        cls, start: RunStart, *, error: str, attempts: int, at: datetime, actor: str, partition: Partition
    ) -> WholeRun:
        """The run that ``start`` began, failed with ``error``."""
        failure = Failure(
            pipeline=start.pipeline,
            asset=start.asset,
            partition_key=start.partition_key,
            run_id=start.run_id,
            attempts=attempts,
            at=at,
            error=error,
            actor=actor,
            tags=start.tags,
        )
        return cls(start=start, failure=failure, partition=partition)

    def refused(self, error: str) -> WholeRun:
        """This run failed with ``error`` instead (its completion was refused)."""
        end = self.completion or self.failure
        assert end is not None, "a whole run has ended"
        return WholeRun.failed(
            self.start,
            error=error,
            attempts=end.attempts,
            at=end.at,
            actor=end.actor,
            partition=self.partition,
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log (``node.audit()``), newest first."""

    at: datetime
    event_type: str
    actor: str
    resource: str
    action: str
    details: Mapping[str, Any] = field(default_factory=dict)
