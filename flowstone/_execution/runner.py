"""Runner actors: each takes a node's tasks one message at a time and drives their attempts.

A message is one task, a chain of tasks run while each succeeds, or a chunk of ready
tasks; the attempt itself, the user-code boundary, is attempt.py.
"""

from __future__ import annotations

from typing import Any

import supervisors
from flowstone._execution.attempt import attempt
from flowstone._execution.task import (
    Materialize,
    MaterializeChain,
    MaterializeMany,
    Outcome,
    Outcomes,
    Reply,
    Task,
)
from flowstone._node.services import Services

__all__ = ["RunnerActor", "execute", "run_here", "runner_spec"]


def execute(task: Task, services: Services, reply: Reply | None) -> Outcome:
    """One attempt at ``task``, admitted first (its ``rate=`` and ``concurrency=``,
    flowstone/_admission): a slot freed later is told on ``reply``. On a runner, or on
    the scheduler's own thread for a lone task (``Scheduler(inline=True)``)."""
    return services.admission.run(task, reply, lambda admitted: attempt(admitted, services))


def run_here(runner: Any, task: Task, services: Services, reply: Reply) -> None:
    """Run ``task`` on this thread in ``runner``'s place and put its outcome on ``reply``,
    as the runner would have. Its slot is held meanwhile (``runner`` stays checked out),
    so the node's runners still bound how many attempts run at once.

    A job's worker runs its one-asset run so (``Scheduler(inline=True)``, when nothing
    else of its run waits and nothing can time out: only a runner's attempt can be
    abandoned): two thread hand-offs fewer per job, and the runner's wake-up (issue 22).
    ``attempt`` turns everything the asset raises into an ``Outcome``, so nothing it
    does can end the worker either.
    """
    try:
        outcome = execute(task, services, reply)
    finally:
        services.pool.checkin(runner)
    reply.put(outcome)


class RunnerActor(supervisors.Actor):
    """Runs materializations one at a time; a pool of them runs a node's work."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self._services = services
        self._reply: Reply | None = None  # of the message in hand: told when a slot frees

    def on_start(self) -> None:
        self._services.pool.checkin(self.actor_ref)

    def on_receive(self, message: Any) -> Any:
        is_task = isinstance(message, Materialize | MaterializeChain | MaterializeMany)
        self._reply = message.reply if is_task else None
        if isinstance(message, Materialize):
            answer: Outcome | Outcomes = self._execute(message.task)
            abandoned = message.task.abandoned.is_set()
        elif isinstance(message, MaterializeChain):
            answer = self._execute_chain(message)
            abandoned = message.chain.ran_abandoned()
        elif isinstance(message, MaterializeMany):
            answer = self._execute_many(message)
            abandoned = any(task.abandoned.is_set() for task in message.tasks)
        else:
            raise TypeError(f"runner got an unexpected message {message!r}")
        if abandoned:
            self.finish("abandoned")  # its scheduler gave up on it and started a replacement
        else:
            self._services.pool.checkin(self.actor_ref)
        message.reply.put(answer)
        return None

    def _execute(self, task: Task) -> Outcome:
        return execute(task, self._services, self._reply)

    def _execute_chain(self, message: MaterializeChain) -> Outcome:
        """A chain's tasks while each succeeds (``Chain``); each outcome but the last is
        told at once, so that its scheduler keeps up with the run. A success hands its
        encoded value to the next task, as the scheduler would have."""
        chain = message.chain
        task = chain.tasks[0]
        while True:
            outcome = self._execute(task)
            if not outcome.ok:
                return outcome  # which ends the chain: its scheduler knows
            if task.abandoned.is_set() or self._services.pool.closed:  # a timeout, or its node stops
                chain.stop()  # before the outcome is told: its scheduler reads it then
                return outcome
            following = chain.advance()
            if following is None:
                return outcome
            if outcome.payload is not None:
                following.dep_payloads = {**following.dep_payloads, task.asset.name: outcome.payload}
            message.reply.put(outcome)
            task = following

    def _execute_many(self, message: MaterializeMany) -> Outcomes:
        """A chunk's tasks in order, up to the first failure (which may halt a backfill:
        the tasks after it go back to the scheduler, unrun)."""
        outcomes = []
        for index, task in enumerate(message.tasks):
            message.progress[0] = index
            if task.abandoned.is_set():
                continue
            outcome = self._execute(task)
            outcomes.append(outcome)
            if not outcome.ok and outcome.retry_in is None:
                break
        message.progress[0] = len(message.tasks)
        return Outcomes(tuple(outcomes))


def runner_spec(services: Services) -> supervisors.ChildSpec:
    """Runners are transient: a crash restarts one, a retirement does not."""
    return supervisors.ChildSpec("runner", lambda: RunnerActor.start(services), restart="transient")
