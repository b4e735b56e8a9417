"""Helpers for testing pipelines: run one asset with given inputs, without a node."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flowstone import partitions
from flowstone._context import Context
from flowstone._jobs.records import JobInfo
from flowstone._node.node import Node
from flowstone._pipeline import Pipeline
from flowstone._schedules.clock import ManualClock
from flowstone.errors import DefinitionError
from supervisors._log import get_logger

__all__ = ["ManualClock", "assert_enqueued", "drain", "run_asset"]


def run_asset(
    pipeline: Pipeline,
    asset: str,
    *,
    deps: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    resources: Mapping[str, Any] | None = None,
    attempt: int = 1,
) -> Any:
    """Call one asset's function with the given dependency values and return its result.

    Example: ``run_asset(pipeline, "doubled", deps={"numbers": [1, 2]}) == [2, 4]``.
    Nothing is stored and no node is started; exceptions propagate unchanged. An
    ``optional`` dependency left out of ``deps`` gets None, as when it is skipped; a
    router's function returns what it returns (its branch is not checked).
    """
    definition = pipeline.get(asset)
    given = dict(deps or {})
    optional = definition.options.optional  # left out: None, as for a skipped dependency
    missing = [name for name in definition.params if name not in given and name not in optional]
    if missing:
        raise DefinitionError(
            f"asset {asset!r} needs values for {', '.join(map(repr, missing))}; pass them in deps={{...}}"
        )
    partitions.validate(partition)
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    log = get_logger("flowstone").bind(run_id=run_id, asset=asset, partition=partitions.describe(partition))
    ctx = Context(run_id, asset, partition, attempt, pipeline.name, log, dict(resources or {}))
    kwargs = {name: given.get(name) for name in definition.params}
    return definition.fn(ctx, **kwargs)


def drain(node: Node, queue: str | None = None, *, limit: int = 100_000) -> dict[str, int]:
    """Run every due job (of ``queue``, or of all queues) now, in the calling thread.

    Returns how many jobs ended in each outcome (``completed``, ``retryable``,
    ``discarded``, ``snoozed``, ``lost``). Jobs scheduled for later (retries with a delay,
    snoozes) are left alone, as Oban's ``drain_queue`` does without ``with_scheduled``.
    """
    from flowstone._jobs.execute import execute_job  # noqa: PLC0415 - SQLAlchemy loads lazily

    jobs = node.jobs
    env = node._jobs_env()
    queues = [queue] if queue is not None else sorted({j.queue for j in jobs.list(limit=limit)})
    counts: dict[str, int] = {}
    for name in queues:
        while sum(counts.values()) < limit:
            claimed = jobs.table.claim(name, env.node_id, 1)
            if not claimed:
                break
            outcome = execute_job(claimed[0], env)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def assert_enqueued(
    node: Node, *, asset: str, partition: partitions.Partition = None, queue: str | None = None
) -> JobInfo:
    """The waiting job for ``asset``/``partition``; ``AssertionError`` listing what is queued if none."""
    key = partitions.serialize(partition)
    waiting = [
        job
        for state in ("available", "scheduled", "retryable")
        for job in node.jobs.list(state=state, queue=queue, limit=10_000)
    ]
    for job in waiting:
        if job.asset == asset and job.partition_key == key:
            return job
    queued = ", ".join(f"{j.asset}[{j.partition_key}]" for j in waiting[:20]) or "nothing"
    raise AssertionError(f"no job enqueued for asset {asset!r}, partition {key}; queued: {queued}")
