"""``node.jobs`` and ``node.submit``: durable jobs, their handles, and admin."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from flowstone import partitions
from flowstone._execution.backfill import BackfillReport, PartitionResult
from flowstone._execution.declared import backfill_partitions
from flowstone._jobs.handle import RunHandle
from flowstone._jobs.queue import Control, QueueEnv
from flowstone._jobs.records import TERMINAL, JobInfo, RecordedError, Unique
from flowstone._jobs.reference import reference_of
from flowstone._jobs.table import JobTable, NewJob
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone._retry import Retry
from flowstone._tags import EMPTY, Tags, tagged, validate_tags
from flowstone.errors import FlowStoneError, MaterializationError

__all__ = ["BACKFILL_PRIORITY", "JobsAPI"]

BACKFILL_PRIORITY = 5  # 0 runs first: backfills never starve normal runs
_BATCH = 1000


class JobsAPI:
    """Submit and administer durable jobs on this node's database."""

    def __init__(
        self,
        *,
        table: JobTable,
        services: Services,
        queues: dict[str, QueueEnv],
        finished: threading.Condition,
        job_retry: Retry,
        register: Callable[[Pipeline], None],
    ) -> None:
        self.table = table
        self.services = services
        self._queues = queues
        self._finished = finished
        self._job_retry = job_retry
        self._register = register

    # --- submitting ------------------------------------------------------------------
    def _new_job(
        self,
        pipeline: Pipeline,
        asset: str,
        partition: Any,
        *,
        force: bool,
        priority: int,
        scheduled_at: datetime | None,
        queue: str,
        unique: Unique | None,
        reference: str,
        tags: Tags = EMPTY,
    ) -> NewJob:
        """A job row; ``reference`` is ``reference_of(pipeline)``, computed once by the caller."""
        definition = pipeline.get(asset)
        key = partitions.serialize(partition)
        definition.check_partition(pipeline.name, partition)
        if not isinstance(priority, int) or not 0 <= priority <= 9:
            raise ValueError(f"priority must be an int from 0 (first) to 9, got {priority!r}")
        if not isinstance(queue, str) or not queue:
            raise ValueError(f"queue must be a non-empty name, got {queue!r}")
        if scheduled_at is not None:
            if scheduled_at.tzinfo is None:
                raise ValueError("scheduled_at must be a timezone-aware datetime")
            scheduled_at = scheduled_at.astimezone(UTC)  # SQLite keeps wall-clock text: store UTC
        retry = definition.options.retry or self._job_retry
        return NewJob(
            queue=queue,
            pipeline_ref=reference,
            pipeline=pipeline.name,
            asset=asset,
            partition_key=key,
            options={"force": force, "retry": dataclasses.asdict(retry), **tagged(tags)},
            priority=priority,
            max_attempts=retry.max_attempts,
            scheduled_at=scheduled_at,
            unique=unique if unique is not None else definition.options.unique,
        )

    def submit(
        self,
        pipeline: Pipeline,
        asset: str,
        *,
        partition: Any = None,
        force: bool = False,
        priority: int = 0,
        scheduled_at: datetime | None = None,
        queue: str = "assets",
        unique: Unique | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunHandle[Any]:
        """Persist a job and return at once; a duplicate of a unique job returns the existing one."""
        checked = validate_tags(tags)
        self._register(pipeline)
        job = self._new_job(
            pipeline,
            asset,
            partition,
            force=force,
            priority=priority,
            scheduled_at=scheduled_at,
            queue=queue,
            unique=unique,
            reference=reference_of(pipeline),
            tags=checked,
        )
        job_id, _ = self.table.insert(job)
        self._wake(queue)
        return RunHandle[Any](self, job_id, pipeline, asset, partition)

    def _wake(self, queue: str) -> None:
        env = self._queues.get(queue)
        if env is not None and env.producer is not None:
            env.producer.tell("wake")

    def backfill(
        self,
        pipeline: Pipeline,
        asset: str,
        items: Iterable[Any] | None,
        *,
        force: bool,
        queue: str,
        progress: Callable[[int, int | None], None] | None,
        tags: Mapping[str, str] | None = None,
    ) -> BackfillReport:
        """Enqueue one job per partition in bulk at a low priority, then report from the table."""
        report = BackfillReport()
        backfilled = self.backfill_iter(
            pipeline, asset, items, force=force, queue=queue, progress=progress, tags=tags
        )
        for result in backfilled:
            report.add(result)
        return report

    def backfill_iter(
        self,
        pipeline: Pipeline,
        asset: str,
        items: Iterable[Any] | None = None,
        *,
        force: bool = False,
        queue: str = "assets",
        progress: Callable[[int, int | None], None] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Iterator[PartitionResult]:
        """Enqueue one job per partition now, then yield a result as each job ends.

        Every job is in the table when this returns (and none if the pipeline's reference
        is refused); partitions already materialized come first, as ``skipped``. A failed
        partition's error is a ``MaterializationError`` carrying the asset's own error as
        its job recorded it (``__cause__``, a ``RecordedError``), as an in-process
        backfill's carries the asset's exception. Without ``items`` the asset's declared
        partition set is enqueued; one outside it raises ``PartitionError`` first.
        """
        checked = validate_tags(tags)
        items = backfill_partitions(pipeline, asset, items)
        self._register(pipeline)
        reference = reference_of(pipeline)  # once, not per partition
        skipped: list[Any] = []
        partition_of: dict[int, Any] = {}
        batch: list[NewJob] = []
        pending: list[Any] = []

        def flush() -> None:
            partition_of.update(zip(self.table.insert_many(batch), pending, strict=True))
            batch.clear()
            pending.clear()
            self._wake(queue)

        for partition in items:
            key = partitions.serialize(partition)
            if not force and asset in self.services.done_assets(pipeline, key, (asset,)):
                skipped.append(partition)
                continue
            batch.append(
                self._new_job(
                    pipeline,
                    asset,
                    partition,
                    force=force,
                    priority=BACKFILL_PRIORITY,
                    scheduled_at=None,
                    queue=queue,
                    unique=None,
                    reference=reference,
                    tags=checked,
                )
            )
            pending.append(partition)
            if len(batch) >= _BATCH:
                flush()
        if batch:
            flush()
        return self._follow(pipeline, asset, skipped, partition_of, progress)

    def _follow(
        self,
        pipeline: Pipeline,
        asset: str,
        skipped: list[Any],
        partition_of: dict[int, Any],
        progress: Callable[[int, int | None], None] | None,
    ) -> Iterator[PartitionResult]:
        """The results of the jobs in ``partition_of`` as they end, read from the table."""
        total = len(partition_of) + len(skipped)
        done = len(skipped)
        for partition in skipped:
            yield PartitionResult(partition, "skipped", reason="stored")
        open_ids = list(partition_of)
        pause = 0.01
        while open_ids:
            states = self.table.states(open_ids)
            still: list[int] = []
            ended: list[PartitionResult] = []
            for job_id in open_ids:
                state = states.get(job_id, "gone")
                if state == "completed":
                    ended.append(self._completed(pipeline, asset, partition_of.pop(job_id)))
                elif state in TERMINAL or state == "gone":
                    ended.append(self._failure(pipeline, asset, job_id, partition_of.pop(job_id)))
                else:
                    still.append(job_id)
            done += len(ended)
            yield from ended
            if progress is not None and ended:
                progress(done, total)
            open_ids = still
            if open_ids:
                with self._finished:  # woken by this node's workers; polling covers other nodes
                    self._finished.wait(pause)
                pause = min(pause * 2, 0.25)

    def _completed(self, pipeline: Pipeline, asset: str, partition: Any) -> PartitionResult:
        """A completed job's partition: succeeded, or skipped if routing skipped its asset."""
        if pipeline.rules_out:
            key = partitions.serialize(partition)
            record = self.services.store.latest(pipeline.name, asset, key)
            if record is not None and record.status == "skipped":
                return PartitionResult(partition, "skipped", record.run_id, reason="not_selected")
        return PartitionResult(partition, "succeeded")

    def _failure(self, pipeline: Pipeline, asset: str, job_id: int, partition: Any) -> PartitionResult:
        """A job that ended without completing, with the error its last attempt recorded."""
        where = f"asset {asset!r}" + (
            "" if partition is None else f", partition {partitions.describe(partition)!r}"
        )
        where += f" (pipeline {pipeline.name!r}, job {job_id})"
        info = self.table.get(job_id)
        if info is None:
            gone = FlowStoneError(
                f"{where} ended and was pruned before its outcome was read; run the backfill again"
            )
            return PartitionResult(partition, "failed", error=gone)
        ended = f"{where} ended {info.state} after {info.attempt} attempt(s)"
        if info.errors:
            last = info.errors[-1]
            text = str(last.get("error", ""))
            error = MaterializationError(
                f"{ended}: {text}; fix the asset, then run the backfill again (or node.jobs.retry({job_id}))",
                asset=asset,
                partition=partition,
                run_id=info.run_id,
                attempts=info.attempt,
            )
            error.__cause__ = RecordedError(
                text, job_id=job_id, attempt=int(last.get("attempt", info.attempt))
            )
        else:
            error = MaterializationError(
                f"{ended} with no error recorded; see node.jobs.get({job_id})",
                asset=asset,
                partition=partition,
                run_id=info.run_id,
                attempts=info.attempt,
            )
        return PartitionResult(partition, "failed", run_id=info.run_id, error=error)

    # --- reading and admin ---------------------------------------------------------
    def get(self, job_id: int) -> JobInfo:
        """The job's info; ``FlowStoneError`` if there is no such job (pruned, or never)."""
        info = self.table.get(job_id)
        if info is None:
            raise FlowStoneError(f"no job {job_id}: it never existed or was pruned")
        return info

    def wait_terminal(self, job_id: int, timeout: float | None) -> JobInfo:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while True:
            info = self.get(job_id)
            if info.state in TERMINAL:
                return info
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"job {job_id} is still {info.state} after {timeout} s")
            with self._finished:  # woken by this node's workers; polling covers other nodes
                self._finished.wait(pause if remaining is None else min(pause, remaining))
            pause = min(pause * 2, 0.2)

    def waited_run_ended(self, job_id: int, run_id: str, error: BaseException | None) -> None:
        """The run of job ``job_id`` waited durably and has now ended: end the job too."""
        text = None if error is None else f"{type(error).__name__}: {error}"
        if self.table.end_waiting(job_id, text):
            with self._finished:
                self._finished.notify_all()

    def list(
        self,
        *,
        state: str | None = None,
        queue: str | None = None,
        limit: int = 100,
        tags: Mapping[str, str] | None = None,
    ) -> list[JobInfo]:
        """Jobs, newest first, optionally of one state and queue, and with all of ``tags``."""
        return self.table.find(state=state, queue=queue, limit=limit, tags=tags)

    def retry(self, job_id: int) -> bool:
        """Make a failed, cancelled or completed job available again (one more attempt if needed)."""
        done = self.table.retry(job_id)
        if done:
            self._wake(self.get(job_id).queue)
        return done

    def cancel(self, job_id: int) -> bool:
        """Cancel a job that has not ended; False if it had."""
        return self.table.cancel(job_id)

    def stats(self) -> dict[str, Any]:
        """Counts per state and queue, and the age in seconds of the oldest available job."""
        return self.table.stats()

    def _producer(self, queue: str) -> Any:
        env = self._queues.get(queue)
        if env is None or env.producer is None:
            known = ", ".join(sorted(self._queues)) or "none"
            raise FlowStoneError(f"this node runs no queue {queue!r} (its queues: {known})")
        return env.producer

    def pause(self, queue: str) -> dict[str, Any]:
        """Stop claiming jobs of ``queue`` on this node (jobs in flight finish)."""
        result: dict[str, Any] = self._producer(queue).ask(Control("pause"))
        return result

    def resume(self, queue: str) -> dict[str, Any]:
        """Claim jobs of ``queue`` on this node again."""
        result: dict[str, Any] = self._producer(queue).ask(Control("resume"))
        return result

    def scale(self, queue: str, limit: int) -> dict[str, Any]:
        """Run at most ``limit`` jobs of ``queue`` at once on this node."""
        if not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be an int ≥ 0, got {limit!r}")
        result: dict[str, Any] = self._producer(queue).ask(Control("scale", limit))
        return result
