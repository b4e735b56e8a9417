"""A queue on one node: a producer actor that claims jobs for a pool of worker actors.

Concurrency is exact: the producer only claims as many jobs as it has idle workers, up to
the queue's limit. It claims when woken (a submit, a notification, a finished job) and on
a polling timer, the fallback that keeps jobs flowing when notifications are lost.

The producer also records its workers' successes: a job whose run was its target alone
comes back as a ``PendingAck``, and the producer completes the jobs and records their
runs in one transaction once no other message waits in its inbox (group commit). When
jobs are short the acknowledgements of several share a commit; when they are not, each
is written at once. A job is completed (``handle.wait`` returns) only after that commit.

Any job may kill the process (``os._exit``, a crashing extension, the OOM killer), and
a success not yet committed dies with it. So the successes the producer holds are
committed before it starts more work, and a job whose last attempt died with its node
runs alone (``isolation``): one poison never costs other jobs their attempts. Because a
freed worker then waits for that commit, the producer lingers briefly (``LINGER``) while
other jobs are still in flight before it commits and claims: short jobs finishing
together then share one commit and one claim, as they did when the commit overlapped
the next jobs.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError

import supervisors
from flowstone._execution.pool import IdlePool
from flowstone._execution.recording import emit_recorded
from flowstone._jobs.execute import JobEnv, PendingAck, execute_job
from flowstone._jobs.isolation import resumed, split_claim
from flowstone._jobs.table import ClaimedJob, QueuePauses
from flowstone._jobs.ticker import Ticker
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["QueueEnv", "QueueProducer", "queue_spec"]

log = get_logger("flowstone")

#: The most seconds a producer waits, while jobs are still in flight, before it records
#: the successes it holds and refills the freed workers. It waits as long as its recent
#: commits took (the time during which, when the commit overlapped the next jobs, those
#: finished and joined the next batch), and at most this. The wait is the producer's
#: ``receive_timeout`` (gen_server's timeout): no timer is armed, nor a thread woken,
#: for the linger of every few jobs (issue 22).
LINGER = 0.01


@dataclass(slots=True)
class QueueEnv:
    """One queue's shared handles; ``workers`` is set each time the worker pool starts."""

    name: str
    limit: int
    poll_interval: float
    job: JobEnv
    pool: IdlePool
    clock: supervisors.Clock
    workers: supervisors.SupervisorRef | None = None
    worker_count: int = 0
    producer: Any = None  # the current producer's ref, set by the producer when it starts


@dataclass(frozen=True, slots=True)
class _Run:
    job: ClaimedJob
    producer: Any
    pipeline: weakref.ReferenceType[Pipeline] | None = None  # as the registry knows it, if it does


@dataclass(frozen=True, slots=True)
class _Done:
    job_id: int
    ack: PendingAck | None = None  # a success still to record


@dataclass(frozen=True, slots=True)
class Control:
    """An admin request to a producer: ``pause``, ``resume``, ``scale`` (with ``limit``)."""

    action: str
    limit: int = 0


class JobWorker(supervisors.Actor):
    """Runs one job at a time for its queue."""

    def __init__(self, env: QueueEnv) -> None:
        super().__init__()
        self._env = env

    def on_start(self) -> None:
        self._env.pool.checkin(self.actor_ref)

    def on_receive(self, message: Any) -> Any:
        if not isinstance(message, _Run):
            raise TypeError(f"job worker got an unexpected message {message!r}")
        acks: list[PendingAck] = []
        try:
            execute_job(message.job, self._env.job, defer=acks.append, known=message.pipeline)
        finally:
            self._env.pool.checkin(self.actor_ref)
            done = _Done(message.job.id, acks[0] if acks else None)
            try:
                message.producer.tell(done)
            except ActorDeadError:  # its producer is restarting: record the success here
                if done.ack is not None:
                    record_acks([done.ack], self._env)
        return None


class QueueProducer(supervisors.Actor):
    """Claims jobs of one queue for this node's idle workers."""

    def __init__(self, env: QueueEnv) -> None:
        super().__init__()
        self._env = env
        self._limit = env.limit
        self._paused = False
        self._paused_by_cluster = False
        self._busy: set[int] = set()
        self._acks: list[PendingAck] = []  # successes not recorded yet
        self._acks_refused = False  # the last attempt to record them failed
        self._refill = False  # workers freed since the last claim
        self._careful = False  # one job at a time while claims hold resumed jobs
        self._unreleased: list[ClaimedJob] = []  # to give back; the database refused
        self._ticker: Ticker | None = None  # tells it "poll"
        self._lingering = False  # a refill waits, until ``_linger_until`` at the latest
        self._linger_until = 0.0
        self._commit_seconds = 0.001  # how long recording successes takes, on average
        self._pipelines: dict[str, weakref.ReferenceType[Pipeline]] = {}  # see _known

    def on_start(self) -> None:
        self._env.producer = self.actor_ref
        self._ticker = Ticker(self.actor_ref, self._env.clock.monotonic, f"ticker:{self._env.name}")
        self._schedule_poll()
        self.actor_ref.tell("wake")  # jobs may be waiting already

    def on_stop(self) -> None:
        self._paused = True  # stop claiming; workers finish (or are left for rescue)
        if self._ticker is not None:
            self._ticker.stop()
        self._record()  # what it could not record stays executing, for rescue
        self._release([])  # likewise what it could not give back

    def on_failure(self, *_exc: object) -> None:
        self.on_stop()

    def _schedule_poll(self) -> None:
        assert self._ticker is not None  # started in on_start
        self._ticker.arm("poll", self._env.poll_interval)

    def on_receive(self, message: Any) -> Any:
        try:
            return self._handle(message)
        finally:
            # When nothing else waits, and no job in flight is about to finish too: record
            # the successes that arrived meanwhile in one transaction (group commit), then
            # claim for every idle worker in one statement. A poll retries a batch the
            # database refused.
            idle = self.actor_inbox.empty()
            if idle and self._refill and self._may_refill():
                self._refill = False
                self._fill()
            waiting = self._refill and self._lingering  # recorded with the refill
            if self._acks and ((idle and not waiting and not self._acks_refused) or message == "poll"):
                self._record()
            if waiting:  # no timer: the wait for the next message ends when the linger does
                self.receive_timeout = self._linger_until - self._env.clock.monotonic()

    def on_timeout(self) -> None:
        """The linger passed with no job ending meanwhile: refill now."""
        self.on_receive("linger")

    def _may_refill(self) -> bool:
        """True once no job is in flight, or ``LINGER`` after the first of them ended."""
        lingered = self._lingering and self._env.clock.monotonic() >= self._linger_until
        if not self._busy or lingered:
            self._lingering = False
            return True
        if not self._lingering:
            self._lingering = True
            self._linger_until = self._env.clock.monotonic() + min(self._commit_seconds, LINGER)
        return False

    def _record(self, claim: int = 0) -> list[ClaimedJob] | None:
        """Record the successes held; with ``claim``, claim that many jobs in the same
        statement (``record_acks``). The jobs claimed, or None if nothing was."""
        acks, self._acks = self._acks, []
        clock = self._env.clock
        started = clock.monotonic()
        recorded, claimed = record_acks(acks, self._env, claim) if acks else (False, None)
        self._acks_refused = bool(acks) and not recorded
        if self._acks_refused:
            self._acks[:0] = acks  # the next poll tries again
        elif acks:
            self._commit_seconds = 0.8 * self._commit_seconds + 0.2 * (clock.monotonic() - started)
        return claimed

    def _handle(self, message: Any) -> Any:
        if message == "poll":
            self._schedule_poll()
            self._refresh_cluster_pause()
            self._release([])
            self._fill()
        elif message == "wake":
            self._fill()
        elif message == "linger":  # from on_timeout: the refill held back runs below, its time passed
            pass
        elif isinstance(message, _Done):
            self._busy.discard(message.job_id)
            if message.ack is not None:
                self._acks.append(message.ack)
            self._refill = True  # once the inbox is empty, with other finished jobs
        elif isinstance(message, Control):
            return self._control(message)
        elif message == "info":
            return {
                "queue": self._env.name,
                "limit": self._limit,
                "paused": self._paused or self._paused_by_cluster,
                "busy": len(self._busy),
            }
        else:
            raise TypeError(f"producer got an unexpected message {message!r}")
        return None

    def _control(self, message: Control) -> dict[str, Any]:
        if message.action == "pause":
            self._paused = True
        elif message.action == "resume":
            self._paused = False
            self._fill()
        elif message.action == "scale":
            self._limit = message.limit
            self._grow(message.limit)
            self._fill()
        log.info("queue.control", queue=self._env.name, action=message.action, limit=self._limit)
        return {"queue": self._env.name, "limit": self._limit, "paused": self._paused}

    def _grow(self, limit: int) -> None:
        workers = self._env.workers
        while workers is not None and self._env.worker_count < limit:
            workers.start_child(worker_spec(self._env))
            self._env.worker_count += 1

    def _refresh_cluster_pause(self) -> None:
        try:
            paused = self._env.name in QueuePauses(self._env.job.table).paused()
        except Exception:  # noqa: BLE001 - logged; the next poll tries again
            return
        if paused != self._paused_by_cluster:
            log.info("queue.cluster_pause", queue=self._env.name, paused=paused)
        self._paused_by_cluster = paused

    def _fill(self) -> None:
        if self._paused or self._paused_by_cluster:
            return
        if self._careful and self._busy:
            return  # the next job may be a resumed one, which runs alone
        wanted = 1 if self._careful else self._limit - len(self._busy)
        taken: list[Any] = []
        while len(taken) < wanted:
            worker = self._env.pool.try_acquire()
            if worker is None:
                break
            taken.append(worker)
        if not taken:
            return
        claimed = self._claim(len(taken))
        was_careful = self._careful
        run, back, self._careful = split_claim(claimed, running=bool(self._busy))
        if self._careful and not was_careful:
            log.info("queue.isolating", queue=self._env.name, resumed=[j.id for j in claimed if resumed(j)])
        self._release(back)
        for worker, job in zip(taken, run, strict=False):
            self._busy.add(job.id)
            worker.tell(_Run(job, self.actor_ref, self._known(job.pipeline_ref)))
        for worker in taken[len(run) :]:
            self._env.pool.checkin(worker)
        if was_careful and not self._careful and len(taken) < self._limit - len(self._busy):
            self.actor_ref.tell("wake")  # back to claiming for every idle worker

    def _known(self, reference: str) -> weakref.ReferenceType[Pipeline] | None:
        """The registry's live pipeline for ``reference``, asked once and kept while it lives.

        Each worker asked the registry for every job (a thread round trip, about 30 µs
        of CPU, issue 22). The registry records a reference only when a worker resolved
        it and found no live pipeline for it (``wiring``), so a live one it gave stays its
        answer until collected; then (or when it knows none yet, or cannot answer) the
        worker resolves it as before.
        """
        known = self._pipelines.get(reference)
        if known is not None and known() is not None:
            return known
        self._pipelines.pop(reference, None)
        try:
            known = self._env.job.lookup(reference)
        except Exception:  # noqa: BLE001 - the registry restarting: the worker resolves it
            return None
        if known is not None:
            self._pipelines[reference] = known
        return known

    def _claim(self, limit: int) -> list[ClaimedJob]:
        """Up to ``limit`` jobs, claimed once the successes held are committed: the new
        work might kill the process, and those successes with it. (If the database
        refused them, claiming goes on: it will likely refuse the claim too.)"""
        if self._acks and not self._acks_refused:
            claimed = self._record(claim=limit)
            if claimed is not None:
                return claimed
        try:
            return self._env.job.table.claim(self._env.name, self._env.job.node_id, limit)
        except Exception as exc:  # noqa: BLE001 - logged; the next poll tries again
            log.warning("queue.claim_failed", queue=self._env.name, error=f"{type(exc).__name__}: {exc}")
            return []

    def _release(self, jobs: list[ClaimedJob]) -> None:
        """Give back claimed jobs that will not run now (and those the database refused
        before); one still refused is kept for the next poll, never left executing."""
        pending, self._unreleased = [*self._unreleased, *jobs], []
        table, node_id = self._env.job.table, self._env.job.node_id
        for job in pending:
            try:
                table.release(job, node_id)
            except Exception as exc:  # noqa: BLE001 - logged; the next poll tries again
                log.warning("queue.release_failed", job_id=job.id, error=f"{type(exc).__name__}: {exc}")
                self._unreleased.append(job)


def record_acks(
    acks: list[PendingAck], env: QueueEnv, claim: int = 0
) -> tuple[bool, list[ClaimedJob] | None]:
    """Complete the jobs of ``acks`` and record their runs in one transaction; False if
    the database refused (nothing is recorded then, nor claimed). With ``claim``, claim
    up to that many jobs of the queue in the same statement where the database can
    (``JobTable.complete_runs_and_claim``): the jobs claimed, or None where not claimed."""
    job = env.job
    done = [(a.job, a.run) for a in acks]
    claimed: list[ClaimedJob] | None = None
    try:
        if claim:
            recorded, claimed = job.table.complete_runs_and_claim(done, job.node_id, env.name, claim)
        else:
            recorded = job.table.complete_runs(done, job.node_id)
    except Exception as exc:  # noqa: BLE001 - logged; the caller keeps them and retries
        log.warning("queue.ack_failed", queue=env.name, jobs=len(acks), error=f"{type(exc).__name__}: {exc}")
        return False, None
    for ack, run in zip(acks, recorded, strict=True):
        if run.completion is None:  # cancelled or rescued meanwhile: its owner reruns it
            log.warning("job.lost", job_id=ack.job.id, queue=env.name, attempt=ack.job.attempt)
    emit_recorded(job.services.events, recorded)
    with job.finished:
        job.finished.notify_all()
    return True, claimed


def worker_spec(env: QueueEnv) -> supervisors.ChildSpec:
    """Workers finish their job on shutdown within the node's ``shutdown_grace``."""
    return supervisors.ChildSpec("worker", lambda: JobWorker.start(env), shutdown=env.job.shutdown_grace)


def queue_spec(env: QueueEnv) -> supervisors.ChildSpec:
    """The queue's subtree: its workers first, then the producer that feeds them."""

    def start_workers() -> supervisors.SupervisorRef:
        workers = supervisors.DynamicSupervisor.start(name=f"workers:{env.name}")
        env.workers = workers
        env.worker_count = 0
        for _ in range(env.limit):
            workers.start_child(worker_spec(env))
            env.worker_count += 1
        return workers

    def start_queue() -> supervisors.SupervisorRef:
        return supervisors.Supervisor.start(
            [
                supervisors.ChildSpec("workers", start_workers, type="supervisor"),
                supervisors.ChildSpec("producer", lambda: QueueProducer.start(env)),
            ],
            strategy="rest_for_one",
            name=f"queue:{env.name}",
        )

    return supervisors.ChildSpec(f"queue:{env.name}", start_queue, type="supervisor")
