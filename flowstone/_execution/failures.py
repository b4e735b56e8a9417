"""The error a caller sees when an asset's materialization failed: what, where, and what to do."""

from __future__ import annotations

from flowstone import partitions
from flowstone._execution.task import Task
from flowstone.errors import MaterializationError

__all__ = ["materialization_error"]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def materialization_error(
    task: Task, cause: BaseException, attempts: int | None = None
) -> MaterializationError:
    """The error a caller sees: what failed, where, and what to do; ``__cause__`` is why."""
    tries = attempts if attempts is not None else task.attempt
    error = MaterializationError(
        f"asset {task.asset.name!r}{_partition_text(task.partition)} "
        f"(pipeline {task.pipeline!r}, run {task.run_id}) failed after {tries} attempt(s): "
        f"{_describe(cause)}; fix the asset or raise its fs.Retry(max_attempts=...), then run again",
        asset=task.asset.name,
        partition=task.partition,
        run_id=task.run_id,
        attempts=tries,
    )
    error.__cause__ = cause
    return error


def _partition_text(partition: partitions.Partition) -> str:
    return "" if partition is None else f", partition {partitions.describe(partition)!r}"
