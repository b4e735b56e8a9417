"""The shared record of one actor instance's life: its start, shutdown request, exit.

Read and written from several threads (the actor's own, its supervisor's, its
monitors'), under one lock; waiters pass gates (see ``Lifecycle``). ``supervisors.Actor``
(in ``_actor``) drives it; the supervisor, monitors, links and names read it through
``lifecycle_of``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from pykka._envelope import Envelope

from supervisors._log import get_logger
from supervisors._reasons import ExitReason, Killed

__all__ = ["WAKE", "DownCallback", "Lifecycle", "call_monitor", "lifecycle_of", "log_safely"]

log = get_logger("supervisors")

_STARTING, _RUNNING, _START_FAILED, _EXITED = range(4)


class _Wake:
    """Inbox message that wakes an idle actor so it notices a shutdown request."""


WAKE = _Wake()

DownCallback = Callable[[ExitReason], None]


def _wait(gate: threading.Lock, timeout: float | None) -> bool:
    """Pass ``gate`` once it is released (held until its event happened); False on timeout."""
    wait = -1 if timeout is None else min(max(0.0, timeout), threading.TIMEOUT_MAX)
    if not gate.acquire(timeout=wait):
        return False
    gate.release()  # let every later or concurrent waiter through
    return True


class Lifecycle:
    """The shared record of one actor instance's life, readable from any thread.

    Waiting uses two gates, locks held from creation until the start settles and until the
    exit is complete (as ``ReplyFuture`` does): a ``Condition`` costs a lock, three caught
    ``AttributeError``s to build and a lock per waiter, on every (re)start (issue 22).
    """

    __slots__ = (
        "_callbacks",
        "_exited_gate",
        "_lock",
        "_next_token",
        "_settled_gate",
        "_state",
        "exit_reason",
        "forced_reason",
        "inbox",
        "killed",
        "shutdown_deadline",
        "shutdown_requested",
        "start_error",
        "supervised",
        "thread",
        "traps_exits",
        "wake",
    )

    def __init__(self, inbox: Any) -> None:
        self._lock = threading.Lock()  # the state and the callbacks
        self._settled_gate = threading.Lock()
        self._settled_gate.acquire()  # released once on_start has returned or failed
        self._exited_gate = threading.Lock()
        self._exited_gate.acquire()  # released once the exit is complete
        self._state = _STARTING
        self._callbacks: dict[int, DownCallback] | None = None
        self._next_token = 0
        self.exit_reason: ExitReason | None = None
        self.start_error: BaseException | None = None
        self.shutdown_requested = False
        self.shutdown_deadline: float | None = None  # time.monotonic(): children wait no longer
        self.killed = False
        self.inbox = inbox
        self.thread: threading.Thread | None = None
        self.forced_reason: ExitReason | None = None  # set by a link: the reason to end with
        self.traps_exits = False
        self.supervised = False  # set by its supervisor: its crashes are reported there
        self.wake: Callable[[], None] | None = None  # also told of a shutdown request

    # --- start -----------------------------------------------------------------
    def _settle(self, state: int) -> None:
        """Leave ``_STARTING`` for ``state`` (once; the caller holds ``_lock``)."""
        if self._state == _STARTING:
            self._state = state
            self._settled_gate.release()

    def mark_started(self) -> None:
        with self._lock:
            self._settle(_RUNNING)

    @property
    def start_settled(self) -> bool:
        """True once ``on_start`` has returned or failed (at once for a trivial start)."""
        return self._state != _STARTING

    def wait_started(self, timeout: float | None = None) -> BaseException | None:
        """Block until ``on_start`` has returned; the error it raised, if any."""
        if not self.start_settled:  # no wait for a trivial start (the usual restart)
            _wait(self._settled_gate, timeout)
        return self.start_error

    # --- shutdown requests --------------------------------------------------------
    def request_shutdown(self, deadline: float | None = None) -> None:
        """Ask the actor to stop at once, skipping its queued messages.

        A supervisor asked with a ``deadline`` (a ``time.monotonic()`` value) waits for
        none of its children past it.
        """
        self.shutdown_deadline = deadline
        self.shutdown_requested = True
        self.inbox.put(Envelope(WAKE))
        if self.wake is not None:
            self.wake()

    def mark_killed(self) -> None:
        """Its supervisor gave up waiting: whenever it does end, the reason is Killed."""
        self.killed = True

    # --- exit ------------------------------------------------------------------
    def set_reason(self, reason: ExitReason, start_error: BaseException | None) -> None:
        with self._lock:
            self.exit_reason = Killed() if self.killed else reason
            if start_error is not None:
                self.start_error = start_error
                self._settle(_START_FAILED)

    def confirm_reason(self) -> None:
        """Its supervisor may have given up on it while its hooks ran: then it was Killed."""
        if self.killed:  # set without the lock (mark_killed): reading it needs none either
            with self._lock:
                self.exit_reason = Killed()

    def finish(self) -> None:
        """Mark the instance gone and tell every monitor, each exactly once."""
        with self._lock:
            self._settle(_START_FAILED)  # no start waiter is left waiting (set_reason settles it)
            self._state = _EXITED
            callbacks = self._callbacks
            self._callbacks = None
            self._exited_gate.release()
        reason = self.exit_reason
        assert reason is not None
        if callbacks:
            for callback in callbacks.values():
                call_monitor(callback, reason)

    @property
    def exited(self) -> bool:
        return self._state == _EXITED

    def wait_exited(self, timeout: float | None = None) -> bool:
        """Block until the instance has exited; its thread is joined too (within
        ``timeout``), so that a stopped actor leaves no thread behind."""
        until = None if timeout is None else time.monotonic() + timeout
        if self._state != _EXITED and not _wait(self._exited_gate, timeout):
            return False
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(None if until is None else max(0.0, until - time.monotonic()))
        return True

    # --- monitors ----------------------------------------------------------------
    def add_monitor(self, callback: DownCallback) -> int | None:
        """Register a callback; None if the actor is already gone (caller calls it)."""
        with self._lock:
            if self._state == _EXITED:
                return None
            if self._callbacks is None:
                self._callbacks = {}
            self._next_token += 1
            self._callbacks[self._next_token] = callback
            return self._next_token

    def remove_monitor(self, token: int) -> bool:
        with self._lock:
            if self._callbacks is None:
                return False
            return self._callbacks.pop(token, None) is not None


def log_safely(event: str, **fields: Any) -> None:
    """Log an error event; a broken log sink must not stop an actor from exiting."""
    with contextlib.suppress(Exception):  # nothing better to do with a failing logger here
        log.error(event, **fields)


def call_monitor(callback: DownCallback, reason: ExitReason) -> None:
    # A BaseException too: one broken callback must not skip the others, nor leave the
    # callers of ``stop()`` waiting for an exit that never completes.
    try:
        callback(reason)
    except BaseException as exc:  # noqa: BLE001 - see above
        log_safely("supervisors.monitor_callback_failed", reason=reason.describe(), error=repr(exc))


def lifecycle_of(ref: object) -> Lifecycle:
    """The lifecycle behind a supervisors ``ActorRef`` or ``SupervisorRef``."""
    inner = getattr(ref, "_lifecycle", None)
    if isinstance(inner, Lifecycle):
        return inner
    raise TypeError(
        f"{ref!r} is not the ref of a supervisors.Actor: subclass supervisors.Actor instead "
        "of pykka.ThreadingActor so that its exits can be observed"
    )
