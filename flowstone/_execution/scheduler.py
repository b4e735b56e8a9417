"""The scheduler: drives partition runs over the runner pool from the caller's thread.

It keeps the run state of one ``run`` or ``backfill`` call (which assets wait on which,
what is in flight, retries due, deadlines) and nothing else; it is owned by the calling
thread, which blocks on one completion queue. Runners answer on that queue; a runner
that dies mid-task is reported there by a monitor, so a run never hangs.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flowstone._admission.gate import Wake, wake_due
from flowstone._execution import chains, skips
from flowstone._execution.deadlines import Deadlines
from flowstone._execution.endings import Endings
from flowstone._execution.failures import materialization_error
from flowstone._execution.flight import ChunkSizer, Dispatch, InFlight, PartitionRun, TaskMaker
from flowstone._execution.runner import run_here
from flowstone._execution.task import Outcome, Outcomes, Reply, RunnerDown, Task
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone._retry import Retry
from flowstone._store.records import CompletionFence, RunStart, WholeRun
from supervisors._log import get_logger

__all__ = ["PartitionRun", "Scheduler"]

log = get_logger("flowstone")


class Scheduler(Endings, Deadlines):
    """Dispatches ready assets to idle runners and reacts to their outcomes."""

    def __init__(
        self,
        pipeline: Pipeline,
        services: Services,
        *,
        retry: Retry | None = None,
        first_attempt: int = 1,
        target_fence: CompletionFence | None = None,
        max_runners: int | None = None,
        chunk_nested: bool = False,
        inline: bool = False,
    ) -> None:
        """``retry`` overrides the target's policy and ``first_attempt`` numbers its first
        try (``ctx.attempt``): a job tries its target once per attempt of its own, while the
        assets the target needs keep their own policies and count from 1, as in node.run;
        ``target_fence`` is applied in the transaction that completes a run's target;
        ``max_runners`` bounds how many runners work for it at once (a backfill's
        ``parallel``); ``chunk_nested`` lets nested runs' tasks share messages as a deferred
        run's do (a backfill's upstream partitions, flowstone/_execution/upstream.py);
        ``inline`` lets the calling thread run a lone task itself (``_runs_here``)."""
        self._pipeline = pipeline
        self._services = services
        self._first_attempt = first_attempt
        self._target_fence = target_fence
        self._max_runners = max_runners
        self._chunk_nested = chunk_nested
        self._inline = inline
        self._tasks = TaskMaker(pipeline, services, retry, first_attempt, target_fence)
        self._chunks = ChunkSizer()
        self._batches = chains.Batches(services.pool.size)
        self._busy = 0  # messages to runners not answered in full
        self._completions: Reply = queue.SimpleQueue()
        self._ready: deque[tuple[PartitionRun, str, int]] = deque()
        self._retries: list[tuple[float, int, PartitionRun, str, int]] = []
        self._seq = itertools.count()
        self._in_flight: dict[Task, InFlight] = {}
        self._runs: set[PartitionRun] = set()
        self._finished: list[PartitionRun] = []

    @property
    def active(self) -> int:
        """Partition runs started and not handed back by ``wait`` yet (a run whose every
        asset was skipped at its start has finished before ``wait``)."""
        return len(self._runs) + len(self._finished)

    @property
    def chunk_size(self) -> int:
        """How many deferred tasks a runner takes per message now (``ChunkSizer``)."""
        return self._chunks.size

    def begin(
        self, run: PartitionRun, plan: list[str], options: Mapping[str, Any], *, deferred: bool = False
    ) -> None:
        """Record ``run`` in the store and start it (``plan`` dependencies first).

        ``deferred`` (a one-asset plan) records nothing now: once the run has finished,
        ``run.ended`` holds the whole run for the caller to record (``Store.record_runs``).
        """
        if deferred and (len(plan) != 1 or self._target_fence is not None):
            raise ValueError("only a one-asset run without a fence can be recorded after it ends")
        ruled = skips.ruled_out_by_stored(self._pipeline, self._services, run.partition, plan)
        deferred = deferred and not ruled  # a skip is recorded as it happens
        if self._first_attempt == 1:
            planned = set(plan)
            deps = self._pipeline.deps
            run.premarked = {a for a in plan if planned.isdisjoint(deps[a])}
        start = RunStart(
            run_id=run.run_id,
            pipeline=self._pipeline.name,
            asset=run.target,
            partition_key=run.partition_key,
            plan=plan,
            options=options,
            at=datetime.now(UTC),
            actor=self._services.node_id,
            running=tuple(run.premarked),
            tags=run.tags,
            nested=run.nested,
        )
        if deferred:
            run.start = start
        else:
            self._services.store.start_run(start)
        run.plan, run.options, run.pipeline = tuple(plan), options, self._pipeline
        self.submit(run, plan, ruled)

    def submit(
        self,
        run: PartitionRun,
        plan: list[str],
        ruled: list[str] | None = None,
        *,
        resume: tuple[str, int] | None = None,
    ) -> None:
        """Start ``run``, which must materialize ``plan`` (dependencies first), less the
        assets ``ruled`` out (and what needs them), which are skipped.

        ``resume`` continues a run that waited: (asset, attempt) resumes at once (its
        ``run.resumptions`` entry runs in its place); ``run.suspended`` still wait."""
        planned = set(plan)
        deps = self._pipeline.deps
        run.remaining = len(plan)
        self._runs.add(run)
        waiting = run.waiting
        for asset in plan:
            count = 0  # a plain loop: a generator per asset cost more than its few dependencies
            for dep in deps[asset]:
                if dep in planned:
                    count += 1
            waiting[asset] = count
        queued: set[str] = set()
        if ruled:
            self._skip(run, ruled)
            if run.finished:
                return
            queued = {asset for other, asset, _ in self._ready if other is run}  # made ready by a skip
        for asset in plan:
            if asset in queued:
                continue
            if resume is not None and asset == resume[0]:
                self._ready.append((run, asset, resume[1]))
            elif run.waiting[asset] == 0 and asset not in run.skipped and asset not in run.suspended:
                self._ready.append((run, asset, self._tasks.first_attempt(run, asset)))

    def _skip(self, run: PartitionRun, assets: list[str]) -> None:
        """Skip ``assets`` of ``run`` and what needs them (``skips.apply``): the dependants
        that take them as optional may be ready now; a store that fails fails the run."""
        ready, error = skips.apply(self._pipeline, self._services, run, assets)
        self._ready.extend((run, asset, self._tasks.first_attempt(run, asset)) for asset in ready)
        if error is not None or run.remaining == 0:
            self._finish(run, error)

    def wait(self, timeout: float | None = None) -> list[PartitionRun]:
        """Work until at least one run finishes (or ``timeout``); the runs that finished."""
        stop_at = None if timeout is None else time.monotonic() + timeout
        while not self._finished and self._runs:
            now = time.monotonic()
            self._expire(now)
            self._dispatch(now)
            if self._finished:
                break
            if not self._in_flight and not self._ready and not self._retries:
                self._fail_stuck_runs()
                break
            wake = self._next_wake(now, stop_at)
            if wake is not None and wake <= 0:
                if stop_at is not None and now >= stop_at:
                    break
                continue
            try:
                item = self._completions.get(timeout=wake)
            except queue.Empty:
                continue
            self._handle(item)
            while True:  # take everything already there before dispatching again
                try:
                    item = self._completions.get_nowait()
                except queue.Empty:
                    break
                self._handle(item)
        finished, self._finished = self._finished, []
        return finished

    # --- dispatching ---------------------------------------------------------------
    def _dispatch(self, now: float) -> None:
        pool = self._services.pool
        ready = self._ready
        while ready:
            run, asset, _ = ready[0]
            if run.finished:
                ready.popleft()
                continue
            if self._max_runners is not None and self._busy >= self._max_runners:
                return
            runner = pool.try_acquire()
            if runner is None and not self._in_flight:
                runner = pool.acquire(timeout=self._next_wake(now, None))
            if runner is None:
                return
            items = [ready.popleft()]
            chunk = self._chunkable(run, asset)
            if chunk:
                while len(items) < self._chunks.size and ready and self._chunkable(*ready[0][:2]):
                    items.append(ready.popleft())
            else:  # a chain: more ready tasks of its run, or the links that will follow it
                items += self._batches.take(self._tasks, run, asset, ready)
            self._send(runner, items, now, chained=not chunk)

    def _chunkable(self, run: PartitionRun, asset: str) -> bool:
        """A deferred (or ``chunk_nested``) run's task without a timeout of its own may share a message."""
        shares = run.start is not None or (self._chunk_nested and run.nested)
        return shares and not run.finished and self._pipeline.get(asset).options.timeout is None

    def _send(
        self, runner: Any, items: list[tuple[PartitionRun, str, int]], now: float, *, chained: bool
    ) -> None:
        make = self._tasks.make
        self._start_clocks(items, now)
        tasks = tuple([make(run, asset, attempt) for run, asset, attempt in items])
        chain = chains.chain(self._tasks, items[0][0], tasks) if chained else None
        flying = tasks if chain is None else tasks[:1]  # of a chain, the task its runner is on
        dispatch = Dispatch(tasks if chain is None else chain.tasks, left=len(flying), chain=chain)
        completions = self._completions
        here = self._inline and chain is None and len(tasks) == 1 and self._runs_here(items[0][0], tasks[0])
        if not here:
            self._services.pool.watch(runner, dispatch.on_runner_down(completions))
        in_flight = self._in_flight
        for (run, _, _), task in zip(items, flying, strict=False):
            timeout = task.asset.kind.attempt_timeout(task.asset.options.timeout)
            in_flight[task] = InFlight(run, task, dispatch, None if timeout is None else now + timeout)
        self._busy += 1
        if here:
            return run_here(runner, tasks[0], self._services, completions)
        message = dispatch.message(completions)
        # A runner that died meanwhile cannot be told; its monitor reports it instead.
        try:  # noqa: SIM105 - contextlib.suppress builds a context manager per asset
            runner.tell(message)
        except Exception:  # noqa: BLE001 - a runner that died meanwhile: its monitor reports it
            pass

    def _runs_here(self, run: PartitionRun, task: Task) -> bool:
        """Whether this thread may run ``task`` (``runner.run_here``): nothing else of the
        scheduler waits behind it, and nothing of it can time out meanwhile."""
        busy = self._in_flight or self._ready or self._retries or run.deadline is not None
        return not busy and task.asset.kind.attempt_timeout(task.asset.options.timeout) is None

    def _handle_many(self, item: Outcomes) -> None:
        """A chunk's outcomes. Its runner stops at the first failure, so a failure seen
        here leaves the tasks after it unrun: they go back to the queue."""
        if not item.outcomes:
            return
        flight = self._in_flight.get(item.outcomes[0].task)
        for outcome in item.outcomes:
            self._handle(outcome)
        if flight is not None:
            self._take_back(flight.dispatch, abandon=False)

    def _take_back(self, dispatch: Dispatch, *, abandon: bool) -> None:
        """Put the tasks of ``dispatch`` still in flight back at the head of the queue, in
        order. With ``abandon`` its runner is retiring: they are marked so that it skips
        those not started, and their runs' clocks start again when sent (their wait did not count)."""
        popped = [self._in_flight.pop(task, None) for task in dispatch.tasks]
        back = [flight for flight in popped if flight is not None]
        for flight in back:
            self._landed(flight)
            if abandon:
                flight.task.abandoned.set()  # skipped if not started; discarded if finished
                if flight.run.timeout is not None:
                    flight.run.deadline = None  # timed again once sent (Deadlines._start_clocks)
        self._ready.extendleft((f.run, f.task.asset.name, f.task.attempt) for f in reversed(back))

    def drop_waiting(self) -> list[PartitionRun]:
        """Forget the deferred runs whose task has not been sent yet (nothing of them is
        recorded); they are returned, for a backfill that halts to report as skipped."""
        dropped = [run for run, _, _ in self._ready if run.start is not None and not run.finished]
        self._ready = deque(item for item in self._ready if item[0].start is None)
        for run in dropped:
            run.finished = True
            self._runs.discard(run)
        return dropped

    def _answered(self, flight: InFlight, item: Outcome | RunnerDown) -> None:
        """``flight`` landed, unless its chain's runner went on to the next task (chains.py)."""
        dispatch, run = flight.dispatch, flight.run
        following = dispatch.went_on(item)
        if following is not None:
            self._in_flight[following] = InFlight(run, following, dispatch, None)
            return
        self._landed(flight)
        if dispatch.chain is not None:  # the ready tasks it did not start are ready again
            run.chains.remove(dispatch.chain)  # nor are its tasks (and values) kept
            back = dispatch.unstarted(run)
            self._ready.extendleft((run, task.asset.name, task.attempt) for task in reversed(back))

    def _landed(self, flight: InFlight) -> None:
        """``flight`` left the air; its runner is free once all of its message has."""
        if flight.dispatch.land():
            self._busy -= 1

    # --- outcomes ------------------------------------------------------------------
    def _handle(self, item: Outcome | Outcomes | RunnerDown | Wake) -> None:
        if isinstance(item, Wake):  # a slot freed here: its waiters are due now
            wake_due(self._retries, self._pipeline, item.key, time.monotonic())
        elif isinstance(item, Outcomes):
            self._handle_many(item)
        else:
            self._handle_one(item)

    def _handle_one(self, item: Outcome | RunnerDown) -> None:
        flight = self._in_flight.pop(item.task, None)
        if flight is None:
            return  # abandoned after a timeout, or reported twice
        run = flight.run
        self._answered(flight, item)
        if run.finished:
            return
        task = item.task
        if isinstance(item, RunnerDown):
            cause = RuntimeError(f"the runner executing it stopped ({item.reason}) before it finished")
            self._record_failure(run, task, cause)
            self._finish(run, materialization_error(task, cause))
        elif item.suspended:
            run.suspended.add(task.asset.name)
            self._park_if_idle(run)
        elif item.ok:
            if item.completion is not None:
                chunked = run.start is not None or (self._chunk_nested and run.nested)
                (self._chunks if chunked else self._batches).observe(item.completion.duration_ms / 1000)
            if run.start is not None and item.completion is not None:
                held = item.payload is not None and self._services.store.holds(task.io)
                run.ended = WholeRun(
                    start=run.start,
                    completion=item.completion,
                    io=task.io if held else None,
                    payload=item.payload if held else None,
                    partition=run.partition,
                )
            run.premarked.update(task.then_running)
            self._tasks.keep_payload(run, task.asset.name, item.payload)
            kind = task.asset.kind
            if kind.rules_out:
                self._skip(run, list(kind.not_run(self._pipeline, task.asset.name, item.value)))
                if run.finished:
                    return
            self._completed(run, task.asset.name, item.value)
        elif item.retry_in is not None or item.wait_in is not None:  # not admitted (wait_in): same attempt
            delay, attempt = (
                (item.retry_in or 0.0, task.attempt + 1)
                if item.wait_in is None
                else (item.wait_in, task.attempt)
            )
            heapq.heappush(
                self._retries, (time.monotonic() + delay, next(self._seq), run, task.asset.name, attempt)
            )
        else:
            assert item.error is not None
            run.ended_with(item.failure)
            self._finish(run, item.error)

    def _completed(self, run: PartitionRun, asset: str, value: Any) -> None:
        run.remaining -= 1
        if asset == run.target:
            run.value = value
        skipped = run.skipped
        for dependant in self._tasks.dependants.get(asset, ()):
            count = run.waiting.get(dependant)
            if count is not None:
                run.waiting[dependant] = count - 1
                if count == 1 and not (skipped and dependant in skipped):
                    if dependant in run.ahead:  # in flight already: its chain's runner is on it
                        run.ahead.discard(dependant)
                    else:
                        self._ready.append((run, dependant, self._tasks.first_attempt(run, dependant)))
        if run.remaining == 0:
            self._finish(run, None)
        elif run.suspended:
            self._park_if_idle(run)
