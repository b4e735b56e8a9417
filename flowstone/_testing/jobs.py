"""Durable jobs in tests: run them in the calling thread, and say what is (not) queued."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowstone import partitions
from flowstone._jobs.records import JobInfo

if TYPE_CHECKING:
    from flowstone._node.node import Node

__all__ = ["assert_enqueued", "drain", "refute_enqueued"]

_WAITING = ("available", "scheduled", "retryable")


def drain(
    node: Node,
    queue: str | None = None,
    *,
    with_scheduled: bool = False,
    with_retries: bool = False,
    until_empty: bool = False,
    limit: int = 100_000,
) -> dict[str, int]:
    """Run the jobs of ``queue`` (or of every queue) now, in the calling thread.

    Returns how many job attempts ended in each outcome (``completed``, ``retryable``,
    ``discarded``, ``snoozed``, ``lost``). By default only jobs already due run, once, as
    Oban's ``drain_queue`` does; then:

    - ``with_scheduled``: jobs scheduled for later (and snoozed ones) are made due first;
    - ``with_retries``: a job that failed and waits for its retry is retried at once, until
      it completes or runs out of attempts (so a retried job's value gets stored);
    - ``until_empty``: drain again while the last pass ran anything, so jobs that jobs
      submitted (and, with the flags above, their retries and snoozes) run too.

    ``limit`` caps the attempts, so a job that snoozes for ever cannot loop for ever.
    """
    from flowstone._jobs.execute import execute_job  # noqa: PLC0415 - SQLAlchemy loads lazily

    jobs = node.jobs
    env = node._jobs_env()
    states = (("scheduled",) if with_scheduled else ()) + (("retryable",) if with_retries else ())
    counts: dict[str, int] = {}
    while True:
        if states:
            jobs.table.make_due(states, queue)
        queues = [queue] if queue is not None else sorted({j.queue for j in jobs.list(limit=limit)})
        ran = 0
        for name in queues:
            while sum(counts.values()) < limit:
                claimed = jobs.table.claim(name, env.node_id, 1)
                if not claimed:
                    break
                outcome = execute_job(claimed[0], env)
                counts[outcome] = counts.get(outcome, 0) + 1
                ran += 1
                if states and outcome in ("retryable", "snoozed"):
                    jobs.table.make_due(states, name)
        if not (until_empty and ran) or sum(counts.values()) >= limit:
            return counts


def _waiting(node: Node, queue: str | None) -> list[JobInfo]:
    return [job for state in _WAITING for job in node.jobs.list(state=state, queue=queue, limit=10_000)]


def _matching(
    jobs: list[JobInfo], asset: str, partition: partitions.Partition, any_partition: bool
) -> list[JobInfo]:
    key = partitions.serialize(partition)
    return [j for j in jobs if j.asset == asset and (any_partition or j.partition_key == key)]


def _listing(jobs: list[JobInfo]) -> str:
    return ", ".join(f"{j.asset}[{j.partition_key}] (job {j.id}, {j.state})" for j in jobs[:20]) or "nothing"


def assert_enqueued(
    node: Node, *, asset: str, partition: partitions.Partition = None, queue: str | None = None
) -> JobInfo:
    """The waiting job for ``asset``/``partition``; ``AssertionError`` listing what is queued if none."""
    waiting = _waiting(node, queue)
    found = _matching(waiting, asset, partition, any_partition=False)
    if found:
        return found[0]
    key = partitions.serialize(partition)
    raise AssertionError(f"no job enqueued for asset {asset!r}, partition {key}; queued: {_listing(waiting)}")


def refute_enqueued(
    node: Node,
    *,
    asset: str,
    partition: partitions.Partition = None,
    queue: str | None = None,
    any_partition: bool = False,
) -> None:
    """Nothing waits to run ``asset`` for ``partition`` (or, with ``any_partition``, for any).

    The opposite of ``assert_enqueued``, as Oban's ``refute_enqueued``: an ``AssertionError``
    lists the jobs that do wait. Jobs that already ran (or are running) do not count.
    """
    found = _matching(_waiting(node, queue), asset, partition, any_partition)
    if found:
        what = "any partition" if any_partition else f"partition {partitions.serialize(partition)}"
        raise AssertionError(
            f"expected no job enqueued for asset {asset!r}, {what}; found: {_listing(found)}"
        )
