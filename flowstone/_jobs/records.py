"""What the job layer exposes: job states and info, uniqueness options, and the two
signals an asset may raise to steer its job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias, get_args

from flowstone.errors import FlowStoneError

__all__ = ["Discard", "JobInfo", "JobState", "RecordedError", "Snooze", "TERMINAL", "Unique", "UNIQUE_KEYS"]

JobState: TypeAlias = Literal[
    "available", "scheduled", "executing", "retryable", "waiting", "completed", "discarded", "cancelled"
]
JOB_STATES: tuple[str, ...] = get_args(JobState)
TERMINAL = ("completed", "discarded", "cancelled")
UNIQUE_KEYS = ("pipeline", "asset", "partition", "queue", "options")


class Snooze(Exception):  # noqa: N818 - a signal, not an error
    """Raise from an asset run as a job to re-schedule it in ``seconds`` without using an
    attempt (e.g. an upstream value that is not ready yet)."""

    def __init__(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"Snooze needs seconds ≥ 0, got {seconds!r}")
        super().__init__(f"snoozed for {seconds} s")
        self.seconds = float(seconds)


class Discard(Exception):  # noqa: N818 - a signal, not an error
    """Raise from an asset run as a job to end it as ``discarded`` at once, without retries."""

    def __init__(self, reason: str = "discarded by the asset") -> None:
        super().__init__(reason)
        self.reason = reason


class RecordedError(FlowStoneError):
    """What a job's asset raised, as the job recorded it: the text, not the exception.

    The asset ran in whichever process claimed the job, and only the text of its error
    (``"ValueError: no data for 2025-01-05"``) reached the database (stored data is never
    unpickled), so ``str()`` is that text. A durable backfill's failure has it as its
    ``__cause__``, as an in-process backfill's failure has the asset's own exception.
    """

    def __init__(self, text: str, *, job_id: int, attempt: int) -> None:
        super().__init__(text)
        self.job_id = job_id
        self.attempt = attempt


@dataclass(frozen=True, slots=True, kw_only=True)
class Unique:
    """At most one job per key and ``period`` window while it is in one of ``states``.

    Time is divided into fixed ``period``-second windows (aligned on the Unix epoch); the
    unique key combines ``keys`` with the current window and is enforced by a unique index,
    not by a check-then-insert race. A duplicate submit in the same window returns the
    existing job's handle; two submits on either side of a window edge are two jobs.
    """

    period: float = 60.0
    keys: tuple[str, ...] = ("asset", "partition")
    states: tuple[str, ...] = ("available", "scheduled", "executing", "retryable", "completed")

    def __post_init__(self) -> None:
        if not self.period > 0:
            raise ValueError(f"Unique period must be > 0 seconds, got {self.period!r}")
        object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "states", tuple(self.states))
        unknown = [k for k in self.keys if k not in UNIQUE_KEYS]
        if unknown or not self.keys:
            raise ValueError(f"Unique keys must be a non-empty subset of {UNIQUE_KEYS}, got {self.keys!r}")
        bad = [s for s in self.states if s not in JOB_STATES]
        if bad or not self.states:
            raise ValueError(f"Unique states must be a non-empty subset of {JOB_STATES}, got {self.states!r}")


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A job as stored (``handle.status()``, ``node.jobs.get(id)``)."""

    id: int
    state: JobState
    queue: str
    attempt: int
    max_attempts: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    scheduled_at: datetime | None = None
    attempted_by: str | None = None
    pipeline: str = ""
    asset: str = ""
    partition_key: str = ""
    priority: int = 0
    run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # the run tags it was submitted with
