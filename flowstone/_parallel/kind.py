"""The parallel kind of asset: its branches run concurrently, and it joins them once.

Its attempt (``call``) writes the group's rows, starts every branch that has not ended
on a thread of the node's ``BranchRuns`` and returns ``Joining``: the asset suspends
(``waiting``) through the durable-wait hook, holding nothing. Each branch that ends
records it and settles the group; the one that completes it resolves the group's wait,
and the join runs in the asset's place (``JoinResumption``). A run that finds a group of
the same asset and partition left by a run that never joined (its node died) adopts the
branches that ended there: they are not run again.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowstone._parallel.jobs import submit_branch
from flowstone._parallel.join import Joining, JoinResumption
from flowstone._parallel.options import PARALLEL_LABEL, ParallelOptions
from flowstone._parallel.rows import KIND, Group, open_group, read_ended, record_end, settle
from flowstone._parallel.runs import run_branch
from flowstone._parallel.verdict import Ended
from flowstone._waits.records import OPEN
from flowstone._waits.runtime import Waits, now
from flowstone.errors import FlowStoneError, ParallelBranchError
from flowstone.io import AssetKey

if TYPE_CHECKING:
    from flowstone._context import Context
    from flowstone._execution.task import Task
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline
    from flowstone.partitions import Partition

__all__ = ["Parallel"]


class Parallel:
    """The ``AssetKind`` of ``@pipeline.parallel``."""

    __slots__ = ("_pipeline", "options")
    label = PARALLEL_LABEL
    rules_out = False
    cleans_up = False

    def __init__(self, options: ParallelOptions, pipeline: Pipeline) -> None:
        self.options = options
        self._pipeline = weakref.ref(pipeline)  # the kind is part of its pipeline

    def __repr__(self) -> str:
        return (
            f"Parallel(branches={dict(self.options.branches)!r}, failure_mode={self.options.failure_mode!r})"
        )

    @property
    def pipeline(self) -> Pipeline:
        pipeline = self._pipeline()
        if pipeline is None:  # pragma: no cover - a definition outliving its pipeline
            raise FlowStoneError("the pipeline of this parallel asset was garbage-collected")
        return pipeline

    def attempt_timeout(self, timeout: float | None) -> float | None:
        return timeout

    def decided(self, exc: BaseException) -> bool:
        return isinstance(exc, ParallelBranchError)

    def not_run(self, pipeline: Pipeline, asset: str, value: Any) -> tuple[str, ...]:
        return ()

    def run_ended(self, services: Services, run_id: str) -> None:
        return None

    def load(self, waits: Waits, final: str, partition: Partition) -> Any:
        """The stored value of branch final ``final``."""
        from flowstone import partitions  # noqa: PLC0415 - avoids an import cycle at load

        services = waits.services
        assert services is not None
        pipeline = self.pipeline
        io = services.resolve_io(pipeline.get(final).options.io)
        return io.load(AssetKey(pipeline.name, final, partitions.serialize(partition)))

    def call(self, task: Task, services: Services, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        waits: Waits | None = services.waits
        if waits is None:
            raise FlowStoneError(
                f"parallel asset {task.asset.name!r}: this node has no durable waits; run it with "
                "node.run, node.submit or backfill"
            )
        found = waits.store.find(task.run_id, task.asset.name, task.partition_key, "parallel:join")
        if found is not None and not found.open:  # a retry of a join that raised
            return JoinResumption(found).call(task.asset, ctx, kwargs)
        record = found or open_group(ctx, waits, self.options, self._adopt(task, services, waits))
        group = Group(record, self.options)
        ended = read_ended(waits, group)
        started = []
        jobs = services.branch_runs.jobs if _importable(self.pipeline) else None
        for name, branch in self.options.branches.items():
            if name in ended:
                continue
            if jobs is not None:  # a node that works queues: any worker may run the branch
                submit_branch(jobs, self.pipeline, record, name, branch.final, task.partition)
                started.append(name)
                continue
            body = _body(services, self.pipeline, branch.final, task.partition)
            if services.branch_runs.start(name, body, _ending(waits, group, name)):
                started.append(name)
        ctx.log.info("parallel.started", branches=started, adopted=sorted(ended))
        settle(waits, group)  # every branch may have ended already (adopted)
        return Joining(record.id)

    def _adopt(self, task: Task, services: Services, waits: Waits) -> dict[str, Ended]:
        """The branches that ended in an earlier run of this asset and partition that never
        joined (its node died); its group is cancelled, so that its run ends. Groups that
        joined or failed are ``joined``/``failed``: only live ones are looked at."""
        earlier = [
            r
            for r in waits.store.select(kind=KIND, states=(*OPEN, "signaled", "expired"))
            if r.pipeline == task.pipeline
            and r.asset == task.asset.name
            and r.partition_key == task.partition_key
            and r.run_id != task.run_id
            and services.store.run_records(r.run_id).get(r.asset) != "completed"
        ]
        if not earlier:
            return {}
        latest = earlier[-1]
        adopted = read_ended(waits, Group(latest, self.options))
        for record in earlier:
            cancelled, changed = waits.store.resolve(
                record.id, generation=None, states=(*OPEN, "expired"), to="cancelled", at=now()
            )
            if changed and cancelled is not None:
                waits.kick(cancelled)
        return adopted


def _importable(pipeline: Pipeline) -> bool:
    """Whether a worker can import the pipeline (a job needs it); else branches run here."""
    from flowstone._jobs.reference import reference_of  # noqa: PLC0415 - imports the pipeline module

    try:
        reference_of(pipeline)
    except FlowStoneError:
        return False
    return True


def _body(services: Services, pipeline: Pipeline, final: str, partition: Partition) -> Any:
    return lambda: run_branch(services, pipeline, final, partition)


def _ending(waits: Waits, group: Group, name: str) -> Any:
    def ended(outcome: Ended) -> None:
        if record_end(waits, group, name, outcome):
            settle(waits, group)

    return ended
