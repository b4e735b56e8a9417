"""The pool of idle runner actors a scheduler dispatches to."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import supervisors
from flowstone.errors import FlowStoneError

if TYPE_CHECKING:
    from supervisors import ChildSpec

__all__ = ["IdlePool", "RunnerPool"]


class _Closed:
    """Put in the queue by ``close``: whoever takes it puts it back and raises."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class IdlePool:
    """Idle actors wait in a queue; each puts itself back when it finishes its work.

    The queue bounds concurrency (work goes only to an idle actor) and is the only thing
    shared: a synchronisation primitive, not state to protect. An actor that died while
    idle is skipped when taken. A closed pool (its node is stopping) raises instead of
    handing out actors, so that no caller waits forever for one that will never come.
    """

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.closed = False  # set once by ``close``; a runner then starts no task of its own

    def checkin(self, ref: Any) -> None:
        self._idle.put(ref)

    def close(self, reason: str) -> None:
        """From now on, taking an actor raises ``FlowStoneError(reason)``."""
        self.closed = True
        self._idle.put(_Closed(reason))

    def _usable(self, ref: Any) -> bool:
        if isinstance(ref, _Closed):
            self._idle.put(ref)  # for the next caller too
            raise FlowStoneError(ref.reason)
        return bool(ref.is_alive())

    def try_acquire(self) -> Any:
        """An idle runner, or None at once if there is none."""
        while True:
            try:
                ref = self._idle.get_nowait()
            except queue.Empty:
                return None
            if self._usable(ref):
                return ref

    def acquire(self, timeout: float | None) -> Any:
        """An idle runner, waiting up to ``timeout`` seconds; None on timeout."""
        while True:
            try:
                ref = self._idle.get(timeout=timeout)
            except queue.Empty:
                return None
            if self._usable(ref):
                return ref


class ChildLookup(Protocol):
    """What the pool needs of the node's ``Directory``: the current ref of a child, or None.

    A protocol, not an import of ``flowstone._node.services``: the services hold the pool.
    """

    def lookup(self, child_id: str) -> Any: ...


class _Watch:
    """The one monitor on a runner, for its whole life, and who to tell if it dies now."""

    __slots__ = ("down", "fired")

    def __init__(self) -> None:
        self.down: Callable[[str], None] | None = None
        self.fired = False


class RunnerPool(IdlePool):
    """The node's runner actors, which materialize assets."""

    def __init__(self, size: int, directory: ChildLookup) -> None:
        super().__init__()
        self.size = size
        self._directory = directory
        self.runner_spec: ChildSpec | None = None  # set once by the node before it starts
        self._watches: dict[Any, _Watch] = {}

    def watch(self, runner: Any, down: Callable[[str], None]) -> None:
        """Call ``down(reason)`` if ``runner`` ends while it holds the message ``down`` is for.

        One monitor per runner for its life, not one per message: a monitor and its removal
        cost about as much as the rest of an in-memory asset's dispatch (issue 22). A runner
        serves one message at a time, so the last ``down`` set is the one to call; none is
        cleared when its message is answered. A report for a message already answered (or
        twice, in a race with the check below) is harmless: the scheduler ignores a report
        for a task no longer in flight. So at most one finished message per runner is kept
        referenced, until the runner's next one.
        """
        watch = self._watches.get(runner)
        if watch is None:
            watch = self._watches[runner] = _Watch()
            watch.down = down
            supervisors.monitor(runner, lambda ended: self._ended(runner, watch, ended.reason.describe()))
            return
        watch.down = down
        if watch.fired:  # pragma: no cover - it ended between its check-in and the line above
            down("ended before its message was sent")

    def _ended(self, runner: Any, watch: _Watch, reason: str) -> None:
        watch.fired = True
        if self._watches.get(runner) is watch:
            del self._watches[runner]
        down = watch.down
        if down is not None:
            down(reason)

    def replace(self) -> None:
        """Start a fresh runner in place of one abandoned on a timeout."""
        runners = self._directory.lookup("runners")
        if runners is not None and self.runner_spec is not None:
            runners.start_child(self.runner_spec)
