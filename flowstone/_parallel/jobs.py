"""Branches as durable jobs: on a node that works queues, each branch of a parallel asset
is a job of its final asset, which any worker on the database may run.

The job carries where its group is (``options["parallel"]``); the worker that ends it
for good (completed, or failed with no attempt left) records the branch's end and
settles the group, and the Resumer of whichever node then claims the resolved group
runs the join: once, across every worker.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, cast

from flowstone._parallel.join import ParallelKind
from flowstone._parallel.options import PARALLEL_LABEL
from flowstone._parallel.rows import Group, record_end, settle
from flowstone._parallel.verdict import Ended
from flowstone._waits.records import WaitRecord
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._jobs.api import JobsAPI
    from flowstone._jobs.claimed import ClaimedJob
    from flowstone._jobs.execute import JobEnv
    from flowstone._pipeline import Pipeline
    from flowstone.partitions import Partition

__all__ = ["BRANCH_OPTION", "branch_job_ended", "submit_branch"]

log = get_logger("flowstone")

BRANCH_OPTION = "parallel"
QUEUE = "assets"


def submit_branch(
    jobs: JobsAPI, pipeline: Pipeline, record: WaitRecord, name: str, final: str, partition: Partition
) -> int:
    """Enqueue branch ``name`` of the group ``record`` as a job of ``final``; its id."""
    from flowstone._jobs.reference import reference_of  # noqa: PLC0415 - imports the pipeline module

    job = jobs._new_job(
        pipeline,
        final,
        partition,
        force=False,
        priority=0,
        scheduled_at=None,
        queue=QUEUE,
        unique=None,
        reference=reference_of(pipeline),
    )
    where = {"run_id": record.run_id, "asset": record.asset, "partition_key": record.partition_key}
    job = dataclasses.replace(job, options={**job.options, BRANCH_OPTION: {**where, "branch": name}})
    job_id, _ = jobs.table.insert(job)
    jobs._wake(QUEUE)
    return job_id


def branch_job_ended(job: ClaimedJob, env: JobEnv, outcome: str) -> None:
    """A job ended: if it was a branch, and for good, record how and settle its group."""
    where: Any = job.options.get(BRANCH_OPTION)
    if not isinstance(where, dict) or outcome not in ("completed", "discarded"):
        return
    waits = env.services.waits
    try:
        pipeline = env.resolve(job.pipeline_ref)
        declared = pipeline.get(str(where["asset"])).kind
        # The kind's label, not isinstance: kind.py imports this module (issue 22).
        if waits is None or declared.label != PARALLEL_LABEL:
            return
        kind = cast("ParallelKind", declared)
        record = waits.store.find(where["run_id"], where["asset"], where["partition_key"], "parallel:join")
        if record is None:
            return
        if outcome == "completed":
            ended = Ended(True)
        else:
            latest = env.services.store.latest(job.pipeline, job.asset, job.partition_key)
            ended = Ended(False, None if latest is None else latest.error)
        group = Group(record, kind.options)
        if record_end(waits, group, str(where["branch"]), ended):
            settle(waits, group)
    except Exception as exc:  # noqa: BLE001 - logged: the group's timeout (if any) still ends it
        log.error("parallel.branch_job_unrecorded", job_id=job.id, error=f"{type(exc).__name__}: {exc}")
