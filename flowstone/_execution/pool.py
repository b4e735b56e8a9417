"""The pool of idle runner actors a scheduler dispatches to."""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING, Any, Protocol

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

    def checkin(self, ref: Any) -> None:
        self._idle.put(ref)

    def close(self, reason: str) -> None:
        """From now on, taking an actor raises ``FlowStoneError(reason)``."""
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


class RunnerPool(IdlePool):
    """The node's runner actors, which materialize assets."""

    def __init__(self, size: int, directory: ChildLookup) -> None:
        super().__init__()
        self.size = size
        self._directory = directory
        self.runner_spec: ChildSpec | None = None  # set once by the node before it starts

    def replace(self) -> None:
        """Start a fresh runner in place of one abandoned on a timeout."""
        runners = self._directory.lookup("runners")
        if runners is not None and self.runner_spec is not None:
            runners.start_child(self.runner_spec)
