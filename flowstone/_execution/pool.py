"""The pool of idle runner actors a scheduler dispatches to."""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowstone._node.services import Directory
    from supervisors import ChildSpec

__all__ = ["IdlePool", "RunnerPool"]


class IdlePool:
    """Idle actors wait in a queue; each puts itself back when it finishes its work.

    The queue bounds concurrency (work goes only to an idle actor) and is the only thing
    shared: a synchronisation primitive, not state to protect. An actor that died while
    idle is skipped when taken.
    """

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def checkin(self, ref: Any) -> None:
        self._idle.put(ref)

    def try_acquire(self) -> Any:
        """An idle runner, or None at once if there is none."""
        while True:
            try:
                ref = self._idle.get_nowait()
            except queue.Empty:
                return None
            if ref.is_alive():
                return ref

    def acquire(self, timeout: float | None) -> Any:
        """An idle runner, waiting up to ``timeout`` seconds; None on timeout."""
        while True:
            try:
                ref = self._idle.get(timeout=timeout)
            except queue.Empty:
                return None
            if ref.is_alive():
                return ref


class RunnerPool(IdlePool):
    """The node's runner actors, which materialize assets."""

    def __init__(self, size: int, directory: Directory) -> None:
        super().__init__()
        self.size = size
        self._directory = directory
        self.runner_spec: ChildSpec | None = None  # set once by the node before it starts

    def replace(self) -> None:
        """Start a fresh runner in place of one abandoned on a timeout."""
        runners = self._directory.lookup("runners")
        if runners is not None and self.runner_spec is not None:
            runners.start_child(self.runner_spec)
