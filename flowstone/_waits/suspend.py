"""The runner's side of a durable wait: an asset returned a ``Suspension``.

The wait is persisted, the materialization marked ``waiting`` (and its run), and the
wait armed with what resumes the run; then the runner is free. When the wait was
resolved before the asset returned (a fast signal), its continuation runs at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowstone._waits.kinds import resumption_for
from flowstone._waits.suspension import Resumption, Suspension
from flowstone.errors import FlowStoneError

if TYPE_CHECKING:
    from flowstone._context import Context
    from flowstone._execution.task import Task
    from flowstone._node.services import Services

__all__ = ["resume_point", "suspend", "undefer"]


def resume_point(task: Task, node_id: str) -> dict[str, Any]:
    """What a node needs to continue the run of ``task`` (JSON: it is stored)."""
    run = task.run
    reference = None
    if run is not None and run.pipeline is not None:
        from flowstone._jobs.reference import reference_of  # noqa: PLC0415

        with contextlib.suppress(Exception):  # a pipeline defined in a function has none
            reference = reference_of(run.pipeline)
    options = {} if run is None or run.options is None else dict(run.options)
    return {
        "pipeline": task.pipeline,
        "reference": reference,
        "target": task.asset.name if run is None else run.target,
        "plan": [task.asset.name] if run is None or not run.plan else list(run.plan),
        "options": {k: v for k, v in options.items() if isinstance(v, str | int | float | bool | None)},
        "job_id": None if run is None else run.job_id,
        "node": node_id,
    }


def undefer(task: Task, services: Services) -> Task:
    """A deferred task (a one-asset run recorded after it ends, e.g. a job's) that waits:
    its run is recorded now, and the task goes on as an ordinary one."""
    run = task.run
    if run is None or run.start is None:
        raise FlowStoneError(
            f"asset {task.asset.name!r}: this run cannot wait (it is recorded after it ends)"
        )
    services.store.start_run(dataclasses.replace(run.start, running=(task.asset.name,)))
    at = datetime.now(UTC)
    services.store.mark_running(
        task.pipeline, task.asset.name, task.partition_key, task.run_id, task.attempt, at
    )
    run.start = None  # recorded: from now on the scheduler treats it as any run
    return dataclasses.replace(task, deferred=False, premarked=True)


def suspend(task: Task, services: Services, ctx: Context, value: Suspension) -> Resumption | None:
    """Persist and arm the wait ``value`` describes; None once suspended, or the
    continuation to run now when the wait was resolved already."""
    waits = services.waits
    if waits is None or task.deferred:
        raise FlowStoneError(
            f"asset {task.asset.name!r} returned a wait ({type(value).__name__}) in a run that cannot "
            "wait: run it with node.run, node.submit or backfill(durable=True)"
        )
    wait_id = value.persist(ctx, waits)
    at = datetime.now(UTC)
    if not services.store.suspend(task.pipeline, task.asset.name, task.partition_key, task.run_id, at):
        raise TimeoutError("its run gave up on it (a timeout) before it suspended")
    record, inline = waits.store.arm(wait_id, resume_point(task, services.node_id))
    if not inline:
        return None
    services.store.mark_running(
        task.pipeline, task.asset.name, task.partition_key, task.run_id, task.attempt, at
    )
    return resumption_for(record)
