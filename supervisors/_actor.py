"""``supervisors.Actor``: a pykka ThreadingActor that always reports why it ended.

pykka's actor loop loses the reason an actor stopped, stops *every* actor on a
``BaseException``, and calls no hook when ``on_start`` fails. This module replaces the
loop (the one pykka extension point it documents for implementors) so that every exit
produces an ``ExitReason``, delivered once to each monitor, and no actor's failure stops
another.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pykka
from pykka import ActorDeadError, ActorRegistry
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

from supervisors._log import get_logger
from supervisors._reasons import Crashed, ExitReason, Killed, Normal, Shutdown

__all__ = ["Actor", "ActorRef", "recording_starts"]

log = get_logger("supervisors")

_STARTING, _RUNNING, _START_FAILED, _EXITED = range(4)
_UNSET: Any = object()
_thread_numbers = itertools.count()


class _Starts(threading.local):
    """Per thread: the actors started while a supervisor runs one child's start function.

    Thread-local, not shared state: only the thread running a start function appends to
    its own list, so that a start that fails can stop what it had already started.
    """

    def __init__(self) -> None:
        self.started: list[ActorRef] | None = None


_starts = _Starts()


@contextlib.contextmanager
def recording_starts() -> Iterator[list[ActorRef]]:
    """Collect the refs of the actors this thread starts inside the ``with`` block."""
    outer = _starts.started
    started: list[ActorRef] = []
    _starts.started = started
    try:
        yield started
    finally:
        _starts.started = outer


class _Wake:
    """Inbox message that wakes an idle actor so it notices a shutdown request."""


_WAKE = _Wake()

DownCallback = Callable[[ExitReason], None]


class _Lifecycle:
    """The shared record of one actor instance's life, readable from any thread."""

    __slots__ = (
        "_callbacks",
        "_cond",
        "_next_token",
        "_state",
        "exit_reason",
        "forced_reason",
        "inbox",
        "killed",
        "shutdown_deadline",
        "shutdown_requested",
        "start_error",
        "thread",
        "traps_exits",
        "wake",
    )

    def __init__(self, inbox: Any) -> None:
        self._cond = threading.Condition(threading.Lock())
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
        self.wake: Callable[[], None] | None = None  # also told of a shutdown request

    # --- start -----------------------------------------------------------------
    def mark_started(self) -> None:
        with self._cond:
            self._state = _RUNNING
            self._cond.notify_all()

    def wait_started(self, timeout: float | None = None) -> BaseException | None:
        """Block until ``on_start`` has returned; the error it raised, if any."""
        with self._cond:
            self._cond.wait_for(lambda: self._state != _STARTING, timeout)
            return self.start_error

    # --- shutdown requests --------------------------------------------------------
    def request_shutdown(self, deadline: float | None = None) -> None:
        """Ask the actor to stop at once, skipping its queued messages.

        A supervisor asked with a ``deadline`` (a ``time.monotonic()`` value) waits for
        none of its children past it.
        """
        self.shutdown_deadline = deadline
        self.shutdown_requested = True
        self.inbox.put(Envelope(_WAKE))
        if self.wake is not None:
            self.wake()

    def mark_killed(self) -> None:
        """Its supervisor gave up waiting: whenever it does end, the reason is Killed."""
        self.killed = True

    # --- exit ------------------------------------------------------------------
    def set_reason(self, reason: ExitReason, start_error: BaseException | None) -> None:
        with self._cond:
            self.exit_reason = Killed() if self.killed else reason
            if start_error is not None:
                self.start_error = start_error
                self._state = _START_FAILED
                self._cond.notify_all()

    def confirm_reason(self) -> None:
        """Its supervisor may have given up on it while its hooks ran: then it was Killed."""
        with self._cond:
            if self.killed:
                self.exit_reason = Killed()

    def finish(self) -> None:
        """Mark the instance gone and tell every monitor, each exactly once."""
        with self._cond:
            self._state = _EXITED
            callbacks = self._callbacks
            self._callbacks = None
            self._cond.notify_all()
        reason = self.exit_reason
        assert reason is not None
        for callback in (callbacks or {}).values():
            _call_monitor(callback, reason)

    @property
    def exited(self) -> bool:
        return self._state == _EXITED

    def wait_exited(self, timeout: float | None = None) -> bool:
        """Block until the instance has exited; its thread is joined too (within
        ``timeout``), so that a stopped actor leaves no thread behind."""
        until = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if not self._cond.wait_for(lambda: self._state == _EXITED, timeout):
                return False
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(None if until is None else max(0.0, until - time.monotonic()))
        return True

    # --- monitors ----------------------------------------------------------------
    def add_monitor(self, callback: DownCallback) -> int | None:
        """Register a callback; None if the actor is already gone (caller calls it)."""
        with self._cond:
            if self._state == _EXITED:
                return None
            if self._callbacks is None:
                self._callbacks = {}
            self._next_token += 1
            self._callbacks[self._next_token] = callback
            return self._next_token

    def remove_monitor(self, token: int) -> bool:
        with self._cond:
            if self._callbacks is None:
                return False
            return self._callbacks.pop(token, None) is not None


def _log_safely(event: str, **fields: Any) -> None:
    """Log an error event; a broken log sink must not stop an actor from exiting."""
    with contextlib.suppress(Exception):  # nothing better to do with a failing logger here
        log.error(event, **fields)


def _call_monitor(callback: DownCallback, reason: ExitReason) -> None:
    # A BaseException too: one broken callback must not skip the others, nor leave the
    # callers of ``stop()`` waiting for an exit that never completes.
    try:
        callback(reason)
    except BaseException as exc:  # noqa: BLE001 - see above
        _log_safely("supervisors.monitor_callback_failed", reason=reason.describe(), error=repr(exc))


class ActorRef(pykka.ActorRef[Any]):
    """A pykka ``ActorRef`` that also knows how its actor ended."""

    _lifecycle: _Lifecycle

    def __init__(self, actor: Actor) -> None:
        super().__init__(actor)
        self._lifecycle = actor._lifecycle

    @property
    def exit_reason(self) -> ExitReason | None:
        """Why the actor ended; None while it is alive."""
        return self._lifecycle.exit_reason

    def wait_for_exit(self, timeout: float | None = None) -> bool:
        """Block until the actor's thread has finished its exit; False on timeout."""
        return self._lifecycle.wait_exited(timeout)


class Actor(pykka.ThreadingActor):
    """Base class for supervised workers.

    Every way the actor can end is reported with an ``ExitReason``: ``stop()`` gives
    ``Normal()``; a stop ordered by its supervisor gives ``Shutdown()``; calling
    ``self.finish(info)`` gives ``Shutdown(info)``; an exception in ``on_start``, in a
    ``tell`` handler, or any ``BaseException`` gives ``Crashed(exc)``. ``on_stop`` runs on
    every exit that is not a crash, ``on_failure`` on every crash (``on_start`` included).

    An exception raised while answering an ``ask`` crashes the actor, after the caller
    has received it: OTP's rule (a crash in a ``call`` crashes the server, whose state may
    be broken). Set the class attribute ``crash_on_ask_error = False`` for pykka's
    behaviour instead: reply with the error and carry on.
    """

    crash_on_ask_error: ClassVar[bool] = True
    #: With ``trap_exits = True`` a linked partner's abnormal exit arrives as an
    #: ``Exit(ref, reason)`` message instead of ending this actor (OTP's ``trap_exit``).
    trap_exits: ClassVar[bool] = False
    #: Actor threads are daemon threads: a child abandoned after its shutdown budget (a
    #: Python thread cannot be killed) must never hold the process open. Stop your
    #: supervisors before the program ends (FlowStone nodes are stopped at exit).
    use_daemon_thread: ClassVar[bool] = True

    @staticmethod
    def _create_actor_inbox() -> Any:
        # SimpleQueue's put is reentrant: a message may be sent from a weakref callback or
        # __del__ that the garbage collector runs while this thread is inside put() (the
        # registry relies on it). pykka's default queue.Queue would deadlock there.
        return queue.SimpleQueue()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lifecycle = _Lifecycle(self.actor_inbox)
        self._lifecycle.traps_exits = self.trap_exits
        self._actor_ref = ActorRef(self)
        self._finish_info: Any = _UNSET
        if _starts.started is not None:
            _starts.started.append(self._actor_ref)

    @property
    def actor_ref(self) -> ActorRef:
        ref: ActorRef = self._actor_ref  # type: ignore[assignment]
        return ref

    def _start_actor_loop(self) -> None:
        # As pykka does, but the thread is kept so that waiting for the exit joins it. A
        # thread that cannot start (too many threads) must not leave a registered,
        # never-running actor behind: undo the registration and report a crash.
        thread = threading.Thread(
            target=self._actor_loop,
            name=f"{type(self).__name__}-{next(_thread_numbers)}",
            daemon=self.use_daemon_thread,
        )
        self._lifecycle.thread = thread
        try:
            thread.start()
        except BaseException as exc:
            self._lifecycle.thread = None
            self._lifecycle.set_reason(Crashed(exc), exc)
            ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
            self._lifecycle.finish()
            raise

    def finish(self, info: Any = None) -> None:
        """End this actor after the current message, with reason ``Shutdown(info)``."""
        self._finish_info = info

    # --- the loop ----------------------------------------------------------------
    def _actor_loop(self) -> None:
        try:
            self.on_start()
        except BaseException as exc:  # noqa: BLE001 - every exit is reported with its reason
            self._exit(Crashed(exc), start_error=exc)
            return
        self._lifecycle.mark_started()
        stops: list[Envelope[Any]] = []
        reason = self._receive(stops)
        self._exit(reason, stops=stops)

    def _receive(self, stops: list[Envelope[Any]]) -> ExitReason:
        inbox = self.actor_inbox
        lifecycle = self._lifecycle
        while True:
            if lifecycle.shutdown_requested:
                return lifecycle.forced_reason or Shutdown()
            envelope = inbox.get()
            message = envelope.message
            if message is _WAKE:
                continue
            if isinstance(message, _ActorStop):
                stops.append(envelope)
                return Shutdown() if lifecycle.shutdown_requested else Normal()
            reply_to = envelope.reply_to
            try:
                response = self._handle_receive(message)
            except Exception as exc:  # noqa: BLE001 - every exit is reported with its reason
                if reply_to is not None:
                    reply_to.set_exception()
                    if not self.crash_on_ask_error:
                        continue
                return Crashed(exc)
            except BaseException as exc:  # noqa: BLE001 - every exit is reported with its reason
                if reply_to is not None:
                    reply_to.set_exception()
                return Crashed(exc)
            if reply_to is not None:
                reply_to.set(response)
            # Drop references to the handled message before blocking on the next one, so
            # an idle actor keeps nothing alive (pykka's loop keeps its last message).
            del envelope, message, response, reply_to
            if self._finish_info is not _UNSET:
                return Shutdown(self._finish_info)

    def _exit(
        self,
        reason: ExitReason,
        *,
        start_error: BaseException | None = None,
        stops: list[Envelope[Any]] | None = None,
    ) -> None:
        lifecycle = self._lifecycle
        lifecycle.set_reason(reason, start_error)
        pending = stops if stops is not None else []
        try:
            if isinstance(reason, Crashed):
                exc = reason.exception
                _log_safely(
                    "actor.crashed",
                    actor=str(self),
                    during="on_start" if start_error is not None else "message",
                    error=f"{type(exc).__name__}: {exc}",
                )
                self._run_hook(self.on_failure, type(exc), exc, exc.__traceback__)
            else:
                self._run_hook(self.on_stop)
        finally:
            # Whatever happened above (even a logger failing on a closed pipe), the exit is
            # completed and reported: monitors fire, waiters wake, no caller hangs.
            lifecycle.confirm_reason()
            ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
            self._drain_inbox(pending)
            lifecycle.finish()
            for envelope in pending:
                if envelope.reply_to is not None:
                    envelope.reply_to.set(None)

    def _run_hook(self, hook: Callable[..., None], *args: Any) -> None:
        try:
            hook(*args)
        except BaseException as exc:  # noqa: BLE001 - every exit is reported with its reason
            _log_safely("actor.hook_failed", actor=str(self), hook=hook.__name__, error=repr(exc))

    def _drain_inbox(self, stops: list[Envelope[Any]]) -> None:
        inbox = self.actor_inbox
        while not inbox.empty():
            envelope = inbox.get()
            if isinstance(envelope.message, _ActorStop):
                stops.append(envelope)
            elif envelope.reply_to is not None:
                error = ActorDeadError(f"{self.actor_ref} stopped before handling the message")
                envelope.reply_to.set_exception(exc_info=(ActorDeadError, error, None))


def lifecycle_of(ref: object) -> _Lifecycle:
    """The lifecycle behind a supervisors ``ActorRef`` or ``SupervisorRef``."""
    inner = getattr(ref, "_lifecycle", None)
    if isinstance(inner, _Lifecycle):
        return inner
    raise TypeError(
        f"{ref!r} is not the ref of a supervisors.Actor: subclass supervisors.Actor instead "
        "of pykka.ThreadingActor so that its exits can be observed"
    )
