"""``supervisors.Actor``: a pykka ThreadingActor that always reports why it ended.

pykka's actor loop loses the reason an actor stopped, stops *every* actor on a
``BaseException``, and calls no hook when ``on_start`` fails. This module replaces the
loop (the one pykka extension point it documents for implementors) so that every exit
produces an ``ExitReason``, delivered once to each monitor, and no actor's failure stops
another.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, ClassVar

import pykka
from pykka import ActorDeadError, ActorRegistry
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

from supervisors._future import ReplyFuture
from supervisors._lifecycle import WAKE, Lifecycle, log_safely
from supervisors._log import get_logger
from supervisors._reasons import Crashed, ExitReason, Normal, Shutdown
from supervisors._threads import ActorThread

__all__ = ["Actor", "ActorRef", "recording_starts"]

log = get_logger("supervisors")

_UNSET: Any = object()
_TIMED_OUT: Envelope[Any] = Envelope(None)  # what the loop handles when ``receive_timeout`` passes
_thread_numbers = itertools.count()


class _Starts(threading.local):
    """Per thread: the actors started while a supervisor runs one child's start function.

    Thread-local, not shared state: only the thread running a start function appends to
    its own list, so that a start that fails can stop what it had already started.
    """

    def __init__(self) -> None:
        self.started: list[ActorRef] | None = None


_starts = _Starts()


class recording_starts:  # noqa: N801 - used as a function: ``with recording_starts() as started``
    """Collect the refs of the actors this thread starts inside the ``with`` block.

    A class, not a generator context manager: it runs on every child start (issue 22).
    """

    __slots__ = ("_outer", "started")

    def __init__(self) -> None:
        self.started: list[ActorRef] = []
        self._outer: list[ActorRef] | None = None

    def __enter__(self) -> list[ActorRef]:
        self._outer = _starts.started
        _starts.started = self.started
        return self.started

    def __exit__(self, *_exc: object) -> None:
        _starts.started = self._outer


def _uuid4_urn() -> str:
    """``uuid.uuid4().urn``, without ``UUID.__init__``'s checks (a third of a start's
    Python before the thread, issue 22): 16 random bytes, version 4, RFC 4122 variant."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"urn:uuid:{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class StoppedEvent(threading.Event):
    """``threading.Event`` on a ``Condition`` over an ``RLock``: the same behaviour, built
    without the three ``AttributeError``s a ``Condition`` over a plain ``Lock`` raises and
    catches (an ``RLock`` has ``_release_save``, ``_acquire_restore`` and ``_is_owned``)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._flag = False


class ActorRef(pykka.ActorRef[Any]):
    """A pykka ``ActorRef`` that also knows how its actor ended."""

    _lifecycle: Lifecycle

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
    #: gen_server's timeout: seconds to wait for the next message, after which
    #: ``on_timeout`` runs instead. Set it while handling a message (or in ``on_start``)
    #: for the wait that follows; any message that arrives first cancels it, as in OTP,
    #: so set it again for the next wait. None (the default) waits as long as it takes.
    receive_timeout: float | None = None

    @staticmethod
    def _create_actor_inbox() -> Any:
        # SimpleQueue's put is reentrant: a message may be sent from a weakref callback or
        # __del__ that the garbage collector runs while this thread is inside put() (the
        # registry relies on it). pykka's default queue.Queue would deadlock there.
        return queue.SimpleQueue()

    @staticmethod
    def _create_future() -> Any:
        return ReplyFuture()  # a lock, not a Condition: see supervisors._future

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        # pykka.Actor.__init__'s four fields, set here instead of calling it (it calls no
        # further __init__): its ``ActorRef`` would be built only to be replaced, and its
        # ``threading.Event`` costs a lock and three caught AttributeErrors on every
        # (re)start (issue 22). A test checks that pykka sets no field this one lacks.
        self.actor_urn = _uuid4_urn()
        self.actor_inbox = self._create_actor_inbox()
        self.actor_stopped = StoppedEvent()
        self._lifecycle = Lifecycle(self.actor_inbox)
        self._lifecycle.traps_exits = self.trap_exits
        self._actor_ref = ActorRef(self)
        self._finish_info: Any = _UNSET
        self._trivial_start = False
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
        thread = ActorThread(  # no hand-off from the new thread: see supervisors._threads
            target=self._actor_loop,
            name=f"{type(self).__name__}-{next(_thread_numbers)}",
            daemon=self.use_daemon_thread,
        )
        self._lifecycle.thread = thread
        # An actor that keeps pykka's empty ``on_start`` cannot fail to start nor take time
        # doing it: its start is complete once its thread exists, so the starter waits for
        # no hand-off from the new thread, neither this one nor ``Thread.start``'s (issue 22).
        self._trivial_start = type(self).on_start is pykka.Actor.on_start
        if self._trivial_start:
            self._lifecycle.mark_started()  # before the thread runs: it may end at once
        try:
            thread.start()
        except BaseException as exc:
            self._lifecycle.thread = None
            self._lifecycle.set_reason(Crashed(exc), exc)
            ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()
            self._lifecycle.finish()
            raise

    def on_timeout(self) -> None:
        """No message arrived within ``receive_timeout``; runs as a message would (an
        exception crashes the actor). It may set ``receive_timeout`` again."""

    def finish(self, info: Any = None) -> None:
        """End this actor after the current message, with reason ``Shutdown(info)``."""
        self._finish_info = info

    # --- the loop ----------------------------------------------------------------
    def _actor_loop(self) -> None:
        if not self._trivial_start:
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
            envelope = self._next_envelope(inbox)
            message = envelope.message
            if message is WAKE:
                continue
            if isinstance(message, _ActorStop):
                stops.append(envelope)
                return Shutdown() if lifecycle.shutdown_requested else Normal()
            reply_to = envelope.reply_to
            try:
                response = self._handle_receive(message) if envelope is not _TIMED_OUT else self._timed_out()
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

    def _timed_out(self) -> Any:
        """``on_timeout``, handled as a message: nothing to answer."""
        self.on_timeout()
        return None

    def _next_envelope(self, inbox: Any) -> Envelope[Any]:
        """The next message, or ``_TIMED_OUT`` if ``receive_timeout`` passes first."""
        timeout = self.receive_timeout
        if timeout is None:  # no attribute written per message unless a timeout was set
            envelope: Envelope[Any] = inbox.get()
            return envelope
        self.receive_timeout = None
        try:
            envelope = inbox.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return _TIMED_OUT
        return envelope

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
                self._log_crash(exc, during="on_start" if start_error is not None else "message")
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

    def _log_crash(self, exc: BaseException, *, during: str) -> None:
        # A supervised child's crash is reported by its supervisor (``child_restarted`` or
        # ``child_exited``, with the reason), so here it is a debug event, never built at
        # the usual levels; an unsupervised actor's crash is an error.
        level = logging.DEBUG if self._lifecycle.supervised else logging.ERROR
        try:  # not contextlib.suppress: on every restart's path (issue 22)
            if log.is_enabled_for(level):
                log.log(
                    level,
                    "actor.crashed",
                    actor=str(self),
                    during=during,
                    error=f"{type(exc).__name__}: {exc}",
                )
        except Exception:  # noqa: BLE001 - a broken log sink must not stop the exit
            pass

    def _run_hook(self, hook: Callable[..., None], *args: Any) -> None:
        try:
            hook(*args)
        except BaseException as exc:  # noqa: BLE001 - every exit is reported with its reason
            log_safely("actor.hook_failed", actor=str(self), hook=hook.__name__, error=repr(exc))

    def _drain_inbox(self, stops: list[Envelope[Any]]) -> None:
        inbox = self.actor_inbox
        while not inbox.empty():
            envelope = inbox.get()
            if isinstance(envelope.message, _ActorStop):
                stops.append(envelope)
            elif envelope.reply_to is not None:
                error = ActorDeadError(f"{self.actor_ref} stopped before handling the message")
                envelope.reply_to.set_exception(exc_info=(ActorDeadError, error, None))
