"""Helpers for testing code built on ``supervisors``: a manual clock, a crash-on-demand
worker, and bounded waits (never bare sleeps) for restarts.

Example::

    from supervisors import Supervisor
    from supervisors.testing import CrashWorker, wait_until_restarted

    sup = Supervisor.start([CrashWorker.spec("w")])
    old = sup.whereis("w")
    CrashWorker.crash(old)
    new = wait_until_restarted(sup, "w", previous=old)
    sup.stop()
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from supervisors._actor import Actor
from supervisors._clock import Cancellable
from supervisors._ref import SupervisorRef
from supervisors._spec import ChildSpec, Restart, ShutdownValue

__all__ = ["CrashWorker", "ManualClock", "process_echo", "wait_for", "wait_until_restarted"]

T = TypeVar("T")


class _ManualHandle:
    def __init__(self, clock: ManualClock, seq: int) -> None:
        self._clock = clock
        self._seq = seq

    def cancel(self) -> None:
        self._clock._cancel(self._seq)


class ManualClock:
    """A clock that moves only when the test calls ``advance``.

    Callbacks scheduled with ``call_later`` run inside ``advance``, in the test's thread,
    in the order they fall due.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable:
        with self._lock:
            seq = next(self._seq)
            heapq.heappush(self._heap, (self._now + max(0.0, delay), seq, callback))
        return _ManualHandle(self, seq)

    def _cancel(self, seq: int) -> None:
        with self._lock:
            self._cancelled.add(seq)

    @property
    def pending(self) -> int:
        """How many scheduled callbacks have not run or been cancelled."""
        with self._lock:
            return sum(1 for _, seq, _ in self._heap if seq not in self._cancelled)

    def advance(self, seconds: float) -> None:
        """Move time forward, running every callback that falls due on the way."""
        with self._lock:
            target = self._now + seconds
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > target:
                    self._now = target
                    return
                due, seq, callback = heapq.heappop(self._heap)
                self._now = max(self._now, due)
                if seq in self._cancelled:
                    self._cancelled.discard(seq)
                    continue
            callback()


@dataclass(frozen=True, slots=True)
class _Crash:
    exception: BaseException


@dataclass(frozen=True, slots=True)
class _Finish:
    info: Any


@dataclass(frozen=True, slots=True)
class _Block:
    release: threading.Event


class CrashWorker(Actor):
    """A worker that crashes, finishes or blocks when told to.

    ``ask("ping")`` answers ``"pong"``. ``fail_start`` makes ``on_start`` raise it;
    ``stop_delay`` makes ``on_stop`` take that long (a slow but compliant shutdown);
    ``stop_blocker`` makes ``on_stop`` wait for an event (a stuck shutdown).
    """

    def __init__(
        self,
        *,
        fail_start: BaseException | None = None,
        stop_delay: float = 0.0,
        stop_blocker: threading.Event | None = None,
        events: list[str] | None = None,
        name: str = "worker",
    ) -> None:
        super().__init__()
        self._fail_start = fail_start
        self._stop_delay = stop_delay
        self._stop_blocker = stop_blocker
        self._events = events
        self._name = name

    def _record(self, event: str) -> None:
        if self._events is not None:
            self._events.append(f"{event}:{self._name}")

    def on_start(self) -> None:
        if self._fail_start is not None:
            raise self._fail_start
        self._record("start")

    def on_stop(self) -> None:
        if self._stop_delay:
            threading.Event().wait(self._stop_delay)
        if self._stop_blocker is not None:
            self._stop_blocker.wait()
        self._record("stop")

    def on_failure(self, *_exc_info: object) -> None:
        self._record("crash")

    def on_receive(self, message: Any) -> Any:
        if message == "ping":
            return "pong"
        if isinstance(message, _Crash):
            raise message.exception
        if isinstance(message, _Finish):
            self.finish(message.info)
            return None
        if isinstance(message, _Block):
            message.release.wait()
            return None
        return message

    @staticmethod
    def crash(ref: Any, exception: BaseException | None = None) -> None:
        """Make the worker behind ``ref`` raise ``exception`` from a ``tell``."""
        ref.tell(_Crash(exception or RuntimeError("crash on demand")))

    @staticmethod
    def finish_with(ref: Any, info: Any = None) -> None:
        """Make the worker end itself with ``Shutdown(info)``."""
        ref.tell(_Finish(info))

    @staticmethod
    def block(ref: Any, release: threading.Event) -> None:
        """Make the worker busy until ``release`` is set."""
        ref.tell(_Block(release))

    @classmethod
    def spec(
        cls,
        child_id: str,
        *,
        restart: Restart | str = Restart.PERMANENT,
        shutdown: ShutdownValue | None = None,
        significant: bool = False,
        **options: Any,
    ) -> ChildSpec:
        """A child spec that starts a ``CrashWorker`` with ``options``."""
        options.setdefault("name", child_id)
        return ChildSpec(
            child_id,
            lambda: cls.start(**options),
            restart=restart,
            shutdown=shutdown,
            significant=significant,
        )


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 5.0,
    *,
    interval: float = 0.002,
    message: str = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError after
    ``timeout``. A bounded wait for state that no event announces."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    delay = interval
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} not reached within {timeout} s")
        pause.wait(delay)
        delay = min(delay * 2, 0.05)


def wait_until_restarted(
    sup: SupervisorRef,
    child_id: str,
    timeout: float = 5.0,
    *,
    previous: Any = None,
    restarts: int | None = None,
) -> Any:
    """Wait until ``child_id`` runs again and return its new ref.

    It counts as restarted when it is running with a ref other than ``previous`` (if
    given) and a restart count of at least ``restarts`` (if given; 1 when neither is).
    """
    minimum = restarts if restarts is not None else (1 if previous is None else 0)

    def restarted() -> Any:
        info = sup.which_child(child_id)
        if info.status != "running" or info.ref is None or info.ref is previous:
            return None
        return info.ref if info.restarts >= minimum else None

    return wait_for(restarted, timeout, message=f"restart of {child_id!r}")


def _echo(message: Any) -> Any:
    if message == "ping":
        return "pong"
    if message == "pid":
        return os.getpid()
    if message == "exit":
        os._exit(3)
    if message == "hang":
        threading.Event().wait()
    return message


def process_echo(*_args: Any) -> Callable[[Any], Any]:
    """A process child's start function, importable in the child: its target answers
    ``"ping"`` with ``"pong"``, ``"pid"`` with its process id, ends the process on
    ``"exit"`` (status 3), blocks forever on ``"hang"``, and echoes anything else."""
    return _echo
