"""``ProcessChild``: a supervised child that runs in its own OS process, so it can be killed.

A Python thread cannot be killed; a process can. ``ProcessChild`` is a thread actor (the
proxy the supervisor watches and callers ask) that owns one OS process started with
multiprocessing's ``forkserver`` (or ``spawn``) context. Every message is forwarded
through a pipe, encoded by a codec (JSON by default: no pickle of user data), and
answered by the target that the start function built in that process.

- Stopping it sends SIGTERM, waits up to ``stop_timeout`` seconds, then sends SIGKILL:
  a child stuck in user code is really reclaimed, and its memory freed.
- The process ending on its own — an exception, ``os._exit``, a segfault, an outside
  SIGKILL — ends the proxy with ``Crashed(ProcessExitError)``, an ordinary exit reason
  its supervisor restarts by the usual rules.

``ChildSpec(..., isolation="process")`` wraps a spec's start function in one of these.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any, ClassVar

from supervisors._actor import Actor
from supervisors._log import get_logger
from supervisors._process_main import ERROR, OK, READY, Codec, JsonCodec, serve
from supervisors._reasons import Crashed

__all__ = ["ProcessChild", "ProcessChildError", "ProcessExitError", "default_context"]

log = get_logger("supervisors")


def default_context() -> str:
    """``forkserver`` where the platform has it (fast restarts), else ``spawn``."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


_preloaded = False


def _context(name: str) -> Any:
    """The multiprocessing context; a forkserver started here preloads this package, so
    that a child forks with it imported instead of importing it again (the main module
    stays preloaded too, as multiprocessing does by default)."""
    global _preloaded
    mp = multiprocessing.get_context(name)
    if name == "forkserver" and not _preloaded:
        _preloaded = True
        mp.set_forkserver_preload(["__main__", "supervisors._process_main", "supervisors"])
    return mp


class ProcessExitError(Exception):
    """A process child's OS process ended: ``exitcode`` (negative: killed by ``-exitcode``)."""

    def __init__(self, exitcode: int | None, name: str = "process child") -> None:
        self.exitcode = exitcode
        if exitcode is not None and exitcode < 0:
            try:
                how = f"was killed by {signal.Signals(-exitcode).name}"
            except ValueError:
                how = f"was killed by signal {-exitcode}"
        else:
            how = f"exited with status {exitcode}"
        super().__init__(f"{name}'s process {how}")


class ProcessChildError(Exception):
    """The target in a child process raised ``type_name: message`` while answering."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name


class ProcessChild(Actor):
    """The proxy of a child running in its own OS process.

    ``ProcessChild.start(start, *args, context=None, codec=None, stop_timeout=5.0)``
    starts the process, calls ``start(*args)`` there and returns once it is ready (a
    failure there fails this start). ``start`` (and ``args``) must be picklable: a
    top-level function or class of an importable module. It returns a
    ``supervisors.Actor`` ref (messages are asked to it), an object with ``on_receive``,
    or a callable. ``ref.ask(message)`` then answers with the target's reply; an error
    raised there comes back as ``ProcessChildError`` and ends the process (OTP's rule).
    """

    #: Its errors are answers; a crash of the process ends it on its own.
    crash_on_ask_error: ClassVar[bool] = False

    def __init__(
        self,
        start: Callable[..., Any],
        *args: Any,
        context: str | None = None,
        codec: Codec | None = None,
        stop_timeout: float | None = 5.0,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self._target = start
        self._args = args
        self._context = context or default_context()
        self._codec: Codec = codec or JsonCodec()
        self._stop_timeout = stop_timeout
        self._name: str = str(name or getattr(start, "__qualname__", "process child"))
        self._process: Any = None
        self._conn: Connection | None = None
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reaped = threading.Event()  # set by the watcher, the one thread that reaps
        self._exitcode: int | None = None
        # A shutdown request wakes a wait for a reply that may never come (a hung child).
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._lifecycle.wake = self._wake

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    # --- start ---------------------------------------------------------------------
    def on_start(self) -> None:
        mp = _context(self._context)
        conn, child_end = mp.Pipe()
        self._conn = conn
        process = mp.Process(
            target=serve,
            args=(child_end, self._target, self._args, self._codec),
            name=f"supervisors:{self._name}",
            daemon=True,
        )
        process.start()
        child_end.close()
        self._process = process
        try:
            reply = self._read_reply()
            if reply[0] != READY:
                raise ProcessChildError(str(reply[1]), str(reply[2]))
        except BaseException:
            self._terminate(0.0)
            raise
        self._watcher = threading.Thread(target=self._watch, name=f"watch:{self._name}", daemon=True)
        self._watcher.start()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed: the proxy has already stopped
            self._wake_w.send_bytes(b"")

    def _watch(self) -> None:
        """Reap the process; end the proxy if it ended on its own (a crash, an outside kill)."""
        process = self._process
        process.join()
        self._exitcode = process.exitcode
        if not self._stopping.is_set():  # before the reap is announced: no ask slips in between
            lifecycle = self._lifecycle
            lifecycle.forced_reason = Crashed(ProcessExitError(self._exitcode, self._name))
            lifecycle.request_shutdown()
        self._reaped.set()

    def _await_end(self, timeout: float | None) -> bool:
        """Wait for the process to end (reaped by the watcher once there is one)."""
        if self._watcher is not None:
            return self._reaped.wait(timeout)
        self._process.join(timeout)
        self._exitcode = self._process.exitcode
        return self._exitcode is not None

    def _ended(self) -> ProcessExitError:
        self._await_end(None)
        return ProcessExitError(self._exitcode, self._name)

    # --- messages ------------------------------------------------------------------
    def _read_reply(self) -> list[Any]:
        conn = self._conn
        assert conn is not None
        sentinel = self._process.sentinel
        ready = wait([conn, sentinel, self._wake_r])
        if conn in ready:
            try:
                reply: list[Any] = self._codec.decode(conn.recv_bytes())
                return reply
            except EOFError:
                pass
        elif sentinel not in ready:  # woken by a shutdown request, the child still busy
            raise ProcessChildError("Shutdown", f"{self._name} was stopped before it answered")
        raise self._ended()

    def on_receive(self, message: Any) -> Any:
        assert self._conn is not None
        try:
            self._conn.send_bytes(self._codec.encode(message))
        except OSError:  # a broken pipe: the process has ended
            raise self._ended() from None
        reply = self._read_reply()
        if reply[0] == OK:
            return reply[1]
        if reply[0] == ERROR:
            raise ProcessChildError(str(reply[1]), str(reply[2]))
        raise ProcessChildError("ProtocolError", f"unexpected reply {reply!r}")

    # --- stop ----------------------------------------------------------------------
    def on_stop(self) -> None:
        self._terminate(self._stop_timeout)

    def on_failure(self, *_exc_info: object) -> None:
        self._terminate(self._stop_timeout)

    def _terminate(self, timeout: float | None) -> None:
        """SIGTERM, up to ``timeout`` seconds, then SIGKILL; the process and watcher joined."""
        self._stopping.set()
        process = self._process
        if process is not None and not self._await_end(0.0):
            if timeout == 0.0:
                process.kill()
            else:
                process.terminate()
                if not self._await_end(timeout):
                    log.warning("process_child.killed", child=self._name, pid=process.pid)
                    self._lifecycle.mark_killed()  # it had to be killed: its exit is Killed
                    process.kill()
            self._await_end(None)
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join()
        if process is not None:
            process.close()
        if self._conn is not None:
            self._conn.close()
        self._lifecycle.wake = None
        self._wake_r.close()
        self._wake_w.close()
