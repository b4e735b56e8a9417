"""``fs.start(testing="inline")``: ``node.submit`` runs the job at once, in the caller.

As Oban's ``testing: :inline``: nothing is written to the jobs table and no worker is
involved, so a test of code that submits jobs needs neither a database nor a drain. The
run is ``node.run`` (the asset's ``fs.Retry``, or the node's ``retry``, applies);
``scheduled_at``, ``priority``, ``queue`` and ``unique`` are accepted and ignored. The
handle it returns has already ended: ``wait()`` gives the value or raises the run's error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from flowstone import partitions
from flowstone._jobs.handle import RunHandle
from flowstone._jobs.records import JobInfo
from flowstone.errors import MaterializationError

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["INLINE_JOB_ID", "InlineRunHandle", "run_inline"]

T = TypeVar("T")

INLINE_JOB_ID = 0
"""The ``id`` of every inline handle: an inline run is never stored as a job."""


class InlineRunHandle(RunHandle[T]):
    """The handle of a job that ran inline: it has ended before ``submit`` returned."""

    def __init__(
        self, pipeline: Pipeline, asset: str, partition: Any, value: Any, error: MaterializationError | None
    ) -> None:
        self.id = INLINE_JOB_ID
        self._pipeline = pipeline
        self.asset = asset
        self.partition = partition
        self._value = value
        self._error = error

    def __repr__(self) -> str:
        return f"<InlineRunHandle asset={self.asset!r} state={self._state()}>"

    def _state(self) -> Literal["completed", "discarded"]:
        return "completed" if self._error is None else "discarded"

    def status(self) -> JobInfo:
        """The job as it ended (not read from a table: there is none)."""
        attempts = max(1, self._error.attempts) if self._error is not None else 1
        errors = [] if self._error is None else [{"attempt": attempts, "error": str(self._error)}]
        return JobInfo(
            id=INLINE_JOB_ID,
            state=self._state(),
            queue="inline",
            attempt=attempts,
            max_attempts=attempts,
            errors=errors,
            pipeline=self._pipeline.name,
            asset=self.asset,
            partition_key=partitions.serialize(self.partition),
            run_id=None if self._error is None else self._error.run_id,
        )

    def cancel(self) -> bool:
        """False: the job has already ended."""
        return False

    def wait(self, timeout: float | None = None) -> T:
        """The value, or the run's ``MaterializationError``: the job has already ended."""
        if self._error is not None:
            raise self._error
        value: T = self._value
        return value


def run_inline(
    run: Callable[..., Any],
    pipeline: Pipeline,
    asset: str,
    partition: partitions.Partition,
    force: bool,
    tags: Mapping[str, str] | None = None,
) -> InlineRunHandle[Any]:
    """Run ``asset`` now with ``run`` (``node.run``) and wrap the outcome in a handle.

    Only a failure of the materialization is kept for ``wait()``; a mistake in the call
    (unknown asset, bad partition) raises from ``submit`` at once, as it does without inline.
    """
    try:
        value = run(pipeline, asset, partition=partition, force=force, tags=tags)
    except MaterializationError as exc:
        return InlineRunHandle(pipeline, asset, partition, None, exc)
    return InlineRunHandle(pipeline, asset, partition, value, None)
