"""How a node stops: its work within the shutdown grace, the rest just after; and at exit.

A stop has two phases. First the **work**: every queue stops claiming, then the queues'
jobs in flight and the runners' materializations get until one deadline, ``shutdown_grace``
after the stop began (one deadline for all of them: budgets that added up, one queue
after another and then the runners, made a worker overrun its grace). Whatever still runs
then is abandoned, as Python cannot stop a thread: a job is left ``executing`` for
another node to rescue. Then the **rest** of the tree (heartbeats, lineage, registry,
resources, store) stops within ``STOP_MARGIN``. So ``node.stop()`` returns within
``shutdown_grace + 1`` second.

At process exit every live node is stopped that way, before Python joins threads: a
callback registered with ``threading._register_atexit`` runs before that join (it is how
``concurrent.futures`` stops its workers), whereas ``atexit`` handlers run after it, too
late. Actor threads are daemon threads, so work abandoned after the grace never holds the
process open. ``LIVE`` is the one piece of process-wide state this needs: a process's
exit is process-wide too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from pykka import ActorDeadError

import supervisors
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._execution.pool import IdlePool
    from flowstone._jobs.queue import QueueEnv

__all__ = ["LIVE", "STOP_MARGIN", "LiveNodes", "NodeLifecycle"]

log = get_logger("flowstone")

#: Seconds the rest of the tree may take to stop once the work's grace has run out.
STOP_MARGIN = 0.5


class NodeLifecycle:
    """Stops one node's tree in two phases (see the module docstring), once."""

    def __init__(
        self,
        node_id: str,
        root: supervisors.SupervisorRef,
        queues: Mapping[str, QueueEnv],
        runners: IdlePool,
        shutdown_grace: float,
        halting: Callable[[], None] | None = None,
    ) -> None:
        self.node_id = node_id
        self._halting = halting  # told first: work the stop cuts short is not a failure
        self.shutdown_grace = shutdown_grace
        self._root = root
        self._queues = queues
        self._runners = runners
        self._lock = threading.Lock()  # one stop at a time; a second one waits for the first

    def stop_claiming(self) -> None:
        """Ask every queue's producer to claim no more jobs (without waiting)."""
        if not self._queues:
            return
        from flowstone._jobs.queue import Control  # noqa: PLC0415 - the job layer loads lazily

        for env in self._queues.values():
            producer = env.producer
            if producer is not None:
                with contextlib.suppress(ActorDeadError):  # restarting: its stop pauses it
                    producer.tell(Control("pause"))

    def stop(self, deadline: float) -> None:
        """Stop the node, its work given until ``deadline`` (a ``time.monotonic()`` value).

        A stop already under way in another thread is waited for (the exit hook waits for
        it too: the node stays live until it has stopped).
        """
        with self._lock:
            try:
                if self._halting is not None:
                    self._halting()
                if self._root.is_alive():
                    self.stop_claiming()
                    self._stop_work(deadline)
                    if self._root.stop(deadline=time.monotonic() + STOP_MARGIN):
                        log.info("node.stopped", node=self.node_id)
            finally:
                LIVE.discard(self)

    def _stop_work(self, deadline: float) -> None:
        # The queues first (their jobs run on the runners), then the runners; neither is
        # waited for past the deadline. terminate_child is an admin stop: no restarts.
        jobs = _child(self._root, "jobs") if self._queues else None
        if jobs is not None:
            for name in self._queues:
                _terminate(jobs, f"queue:{name}", deadline)  # the id queue_spec gives it
        # A run in another thread gets no runner any more: it raises instead of waiting
        # forever (and keeping its thread, maybe the process, alive).
        # Resumes of waiting runs next: they run on the runners too (flowstone._waits).
        _terminate(self._root, "waits", deadline)
        self._runners.close(
            f"the node {self.node_id} is stopping: it runs nothing more; run it again on a live node"
        )
        _terminate(self._root, "runners", deadline)


def _child(supervisor: supervisors.SupervisorRef, child_id: str) -> supervisors.SupervisorRef | None:
    try:
        ref: supervisors.SupervisorRef | None = supervisor.whereis(child_id)
    except supervisors.SupervisorError:  # the supervisor ended meanwhile
        return None
    return ref


def _terminate(supervisor: supervisors.SupervisorRef, child_id: str, deadline: float) -> None:
    with contextlib.suppress(supervisors.SupervisorError):  # it ended meanwhile: nothing to stop
        supervisor.terminate_child(child_id, deadline=deadline)


class LiveNodes:
    """The nodes of this process that have not been stopped: stopped at its exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: dict[int, NodeLifecycle] = {}  # in start order
        self._hooked = False

    def add(self, node: NodeLifecycle) -> None:
        with self._lock:
            if not self._hooked:
                self._hook()
            self._nodes[id(node)] = node

    def discard(self, node: NodeLifecycle) -> None:
        with self._lock:
            self._nodes.pop(id(node), None)

    def _hook(self) -> None:
        register: Callable[[Callable[[], None]], None] | None = getattr(threading, "_register_atexit", None)
        if register is not None:
            with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
                register(self.stop_all)
        atexit.register(self.stop_all)  # nodes started later, by an atexit handler
        # A forked child has none of its parent's threads: its nodes are not its own.
        os.register_at_fork(after_in_child=self._forget_all)
        self._hooked = True

    def _forget_all(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._nodes.clear()

    def stop_all(self) -> None:
        """Stop every live node, newest first; their work shares the time from now on.

        Every queue stops claiming first, so that no node takes new jobs while another
        drains. A KeyboardInterrupt (a second Ctrl-C) abandons the rest at once.
        """
        with self._lock:
            nodes = list(self._nodes.values())
        if not nodes:
            return
        began = time.monotonic()
        log.info("node.exit_stopping", nodes=[node.node_id for node in nodes])
        try:
            for node in nodes:
                node.stop_claiming()
            for node in reversed(nodes):
                node.stop(began + node.shutdown_grace)
        except KeyboardInterrupt:
            log.warning("node.exit_interrupted", nodes=[node.node_id for node in nodes])


LIVE = LiveNodes()
