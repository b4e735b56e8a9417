"""``Resumer``: continues runs whose wait was resolved, through the same ``Scheduler``.

A resolved, armed wait is *claimed* (one conditional update: exactly one node takes it)
and its run continued on a small pool of threads (as many as the node has runners; none
while nothing resumes). The continuation is the wait kind's ``Resumption``, run in the
waiting asset's place; then the rest of the original plan runs, or the run parks again.
A wait that ends its asset without user code (a rejection, a timeout that fails or
cancels) is ended even by a node that cannot import the pipeline.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._execution.flight import PartitionRun
from flowstone._execution.scheduler import Scheduler
from flowstone._store.records import Failure
from flowstone._waits.kinds import resumption_for
from flowstone._waits.records import WaitRecord
from flowstone._waits.runtime import Waits, now
from flowstone.errors import WaitCancelledError
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["Resumer"]

log = get_logger("flowstone")

#: (pipeline name, reference or None) → the pipeline, or None if this node cannot have it
Resolve = Callable[[str, str | None], "Pipeline | None"]
#: a run resumed here ended: (job id, run id, error or None)
RunEnded = Callable[[int, str, BaseException | None], None]


class Resumer:
    """Claims resolved waits this node can continue, and continues their runs."""

    def __init__(
        self,
        waits: Waits,
        services: Services,
        resolve: Resolve,
        workers: int,
        run_ended: RunEnded | None,
        *,
        works_jobs: bool = False,
    ) -> None:
        self._waits = waits
        self._services = services
        self._resolve = resolve
        self._run_ended = run_ended
        self._works_jobs = works_jobs  # a run of a job resumes as the job did: on a worker
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flowstone-resume")
        self._lock = threading.Lock()
        self._stopped = False
        self._queued: dict[str, WaitRecord] = {}  # claimed, not started: given back at a stop

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            queued, self._queued = list(self._queued.values()), {}
        for record in queued:
            with contextlib.suppress(Exception):  # another node's sweep takes it again
                self._waits.store.release(record.id)

    def offer(self, record: WaitRecord, *, imports: bool = False) -> bool:
        """Claim ``record`` and continue its run, if this node can; whether it did.

        Without ``imports`` only a pipeline this node runs already will do: a process that
        only signals (``flowstone signal``) must not take a run it cannot see through."""
        if self._stopped or record.resume is None:
            return False
        if record.resume.get("job_id") is not None and not self._works_jobs:
            return False
        reference = record.resume.get("reference") if imports else None
        pipeline = self._resolve(record.pipeline, reference)
        resumption = resumption_for(record)
        ending = resumption.ends(partitions.deserialize(record.partition_key))
        if pipeline is None and ending is None:
            return False  # user code must run: left for a node that has the pipeline
        with self._lock:
            if self._stopped:
                return False
            claimed = self._waits.store.claim(record.id)
            if claimed is None:
                return False
            self._queued[claimed.id] = claimed
            self._executor.submit(self._continue, claimed, pipeline)
        return True

    def sweep(self, limit: int = 100) -> int:
        """Offer every resolved wait nobody took (another process resolved it, or its node died)."""
        return sum(self.offer(record, imports=True) for record in self._waits.store.resumable(limit))

    def _continue(self, record: WaitRecord, pipeline: Pipeline | None) -> None:
        bound = log.bind(run_id=record.run_id, asset=record.asset, wait_id=record.id, kind=record.kind)
        self._waits.watch.begin(record.run_id)
        with self._lock:
            self._queued.pop(record.id, None)
        try:
            if pipeline is None:
                self._end_plainly(record)
            else:
                self._resume(record, pipeline)
        except Exception as exc:  # noqa: BLE001 - logged: a thread of the pool never dies of it
            bound.error("waits.resume_failed", error=f"{type(exc).__name__}: {exc}")
            self._waits.watch.parked(record.run_id)
            with contextlib.suppress(Exception):  # given back: a sweep takes it again
                self._waits.store.release(record.id)

    def _end_plainly(self, record: WaitRecord) -> None:
        """End the waiting materialization and its run without the pipeline."""
        error = resumption_for(record).ends(partitions.deserialize(record.partition_key))
        assert error is not None
        failure = Failure(
            pipeline=record.pipeline,
            asset=record.asset,
            partition_key=record.partition_key,
            run_id=record.run_id,
            attempts=record.attempt,
            at=now(),
            error=f"{type(error).__name__}: {error}",
            actor=self._services.node_id,
            status="cancelled" if isinstance(error, WaitCancelledError) else "failed",
            tags=self._services.store.run_tags(record.run_id),
        )
        self._services.store.fail(failure)
        self._ended(record, error)

    def _resume(self, record: WaitRecord, pipeline: Pipeline) -> None:
        origin: dict[str, Any] = dict(record.resume or {})
        statuses = self._services.store.run_records(record.run_id)
        plan = [a for a in origin.get("plan", [record.asset]) if statuses.get(a) != "completed"]
        if record.asset not in plan:
            plan.insert(0, record.asset)
        parked = {a for a in plan if statuses.get(a) == "waiting" and a != record.asset}
        partition = partitions.deserialize(record.partition_key)
        run = PartitionRun(record.run_id, partition, record.partition_key, origin.get("target", record.asset))
        run.plan, run.options, run.job_id = (
            tuple(origin.get("plan", plan)),
            origin.get("options"),
            origin.get("job_id"),
        )
        self._services.store.run_resumed(record.run_id)
        run.tags = self._services.store.run_tags(record.run_id)  # kept with the run (issue 19)
        run.pipeline, run.suspended = pipeline, parked
        run.resumptions[record.asset] = resumption_for(record)
        scheduler = Scheduler(pipeline, self._services)
        scheduler.submit(run, plan, resume=(record.asset, record.attempt))
        while not run.finished:
            scheduler.wait()
        if run.parked:
            self._waits.watch.parked(record.run_id)
            return
        self._ended(record, run.error, run.value)

    def _ended(self, record: WaitRecord, error: BaseException | None, value: Any = None) -> None:
        self._waits.watch.ended(record.run_id, value, error)
        job_id = (record.resume or {}).get("job_id")
        if job_id is not None and self._run_ended is not None:
            with contextlib.suppress(Exception):
                self._run_ended(int(job_id), record.run_id, error)
