"""Continuations: a runner that completes an asset goes on to the dependant it alone made
ready, instead of answering its scheduler and waiting to be sent that dependant (issue 22).

In a chain of assets every link used to cost two thread hand-offs (the outcome to the
scheduler, the next task back to an idle runner) on the critical path: more than the
Python of a trivial asset. Here the scheduler, when it sends a task, also makes the tasks
of the links that will follow it (``build``); the runner runs them in order while each
succeeds and tells each outcome as it goes; the scheduler counts the link the runner is on
as in flight, and does its bookkeeping (counts, payloads, retries, deadlines, the end of the
run) as the outcomes arrive, exactly as for tasks it sent one by one (``Dispatch.went_on``).
Everything mutable stays the scheduler's: it made the tasks, and ``Chain.stop`` is the one
thing it tells the runner afterwards.

A link is chainable when nothing about it needs the scheduler between the two tasks: its
only dependency left in the run is the link before it (so it is ready exactly when that one
succeeds), and it has no timeout, rate or slots, durable resumption, or a kind whose value
rules assets out or that cleans up after the run. A chain is at most ``LIMIT`` tasks long,
so that the tasks made for nothing when a link fails stay few.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from flowstone._execution.flight import ChunkSizer
from flowstone._execution.task import Chain, Task

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._execution.flight import PartitionRun, TaskMaker

__all__ = ["LIMIT", "Batches", "build", "chain"]

#: The most tasks one message holds: a chain longer than that is several messages.
LIMIT = 32


def _chainable(definition: AssetDef) -> bool:
    """Whether the scheduler has nothing to do for the asset between its task and the next."""
    options, kind = definition.options, definition.kind
    return (
        kind.attempt_timeout(options.timeout) is None
        and options.rate is None
        and options.concurrency is None
        and not kind.rules_out
        and not kind.cleans_up
    )


def _next_link(tasks: TaskMaker, run: PartitionRun, asset: str) -> str | None:
    """The first chainable dependant of ``asset`` in ``run`` that waits for it alone."""
    waiting = run.waiting
    for dependant in tasks.dependants.get(asset, ()):
        if waiting.get(dependant) != 1 or dependant in run.skipped or dependant in run.suspended:
            continue
        if dependant in run.resumptions or dependant in run.ahead:
            continue
        if _chainable(tasks.definition(dependant)):
            return dependant
    return None


def chain(tasks: TaskMaker, run: PartitionRun, batch: tuple[Task, ...]) -> Chain | None:
    """The chain for ``batch`` (ready tasks of ``run``: ``Batches.take``), or for its one
    task and the links that will follow it (``build``); None for a lone task."""
    if len(batch) == 1:
        return build(tasks, run, batch[0])
    made = Chain(batch)
    run.chains.append(made)
    return made


def build(tasks: TaskMaker, run: PartitionRun, first: Task) -> Chain | None:
    """The chain that starts with ``first``, or None when it has no link after it.

    Each task after the first is made now, before it is ready; it is marked running by
    the completion of the one before it (``then_running``) when that one says so."""
    if run.start is not None or not _chainable(first.asset):
        return None  # a deferred run is one asset; the first's own kind may need the scheduler
    links = [first]
    previous = first
    while len(links) < LIMIT:
        asset = _next_link(tasks, run, previous.asset.name)
        if asset is None:
            break
        attempt = tasks.first_attempt(run, asset)
        task = tasks.make(run, asset, attempt)
        task.premarked = task.premarked or (attempt == 1 and asset in previous.then_running)
        run.ahead.add(asset)
        links.append(task)
        previous = task
    if len(links) == 1:
        return None
    chain = Chain(tuple(links))
    run.chains.append(chain)
    return chain


class Batches:
    """How many ready tasks of one run go to a runner as one chain (a fan-out's middle).

    They run one after the other on that runner, each outcome told as it comes, so a
    runner finishing one goes on to the next without a round trip to its scheduler. As
    many as about ``budget`` seconds of work by the durations seen so far (``ChunkSizer``:
    a slow asset goes alone), and no more than an even share of the ready tasks among
    the runners, so that ready tasks never wait behind others while a runner is idle.
    """

    def __init__(self, runners: int) -> None:
        self._sizer = ChunkSizer()
        self._runners = max(1, runners)

    def observe(self, seconds: float) -> None:
        self._sizer.observe(seconds)

    def take(
        self, tasks: TaskMaker, run: PartitionRun, asset: str, ready: deque[tuple[PartitionRun, str, int]]
    ) -> list[tuple[PartitionRun, str, int]]:
        """The ready tasks to send with ``asset``'s (just taken from the head of ``ready``):
        the next ones of the same run, while they are chainable."""
        size = min(self._sizer.size, -(-(len(ready) + 1) // self._runners))
        if size <= 1 or run.start is not None or run.resumptions or not _chainable(tasks.definition(asset)):
            return []
        taken: list[tuple[PartitionRun, str, int]] = []
        while len(taken) < size - 1 and ready:
            other, following, _ = ready[0]
            if other is not run or not _chainable(tasks.definition(following)):
                break
            taken.append(ready.popleft())
        return taken
