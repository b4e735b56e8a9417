"""``ScattersActor``: the node's child that runs scatters' keys, outside any runner.

A scatter's attempt writes its keys and suspends on its barrier's wait; its keys are run
here, each scatter on a thread of this child (which starts the scatter's own worker
threads, ``dispatch.py``), and the wait is settled when the last key ends. On a node that
works queues on a database it also helps with the open scatters of other nodes, one look
every ``poll_interval``. Stopping it stops claiming keys (those not started go back
unrun for another node or a restart), lets the keys running finish within the shutdown
grace, and joins every thread it started.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pykka import ActorDeadError

import supervisors
from flowstone._periodic import Periodic
from flowstone._scatter.helper import Helper
from supervisors._log import get_logger

__all__ = ["Drive", "ScattersActor", "scatters_spec"]

log = get_logger("flowstone")


@dataclass(frozen=True, slots=True)
class Drive:
    """Run one scatter's keys: ``body(halting)`` on a thread of this child; ``stopping``
    stops it (set by ``node.cancel`` too). ``halting`` tells the body its node stops (so
    that it does not take that stop for a cancellation)."""

    name: str
    body: Callable[[threading.Event], None]
    stopping: threading.Event


@dataclass(frozen=True, slots=True)
class _Ended:
    thread: threading.Thread


class ScattersActor(supervisors.Actor):
    """Owns the threads running scatters' keys on this node."""

    def __init__(self, helper: Helper | None, interval: float, grace: float) -> None:
        super().__init__()
        self._helper = helper
        self._interval = interval
        self._grace = grace
        self._halting = threading.Event()
        self._drives: dict[threading.Thread, threading.Event] = {}
        self._helping: threading.Thread | None = None
        self._looks = Periodic(self, "help", interval, self._handle)  # for keys to help with

    def on_start(self) -> None:
        self._schedule()
        self._looks.wait()

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, *_exc: object) -> None:
        self._shutdown()

    def on_receive(self, message: Any) -> Any:
        try:
            return self._handle(message)
        finally:
            self._looks.wait()

    def on_timeout(self) -> None:
        self.on_receive("help")

    def _handle(self, message: Any) -> Any:
        if isinstance(message, Drive):
            self._start(message)
            return None
        if isinstance(message, _Ended):
            message.thread.join()
            self._drives.pop(message.thread, None)
            if message.thread is self._helping:
                self._helping = None
            return None
        if message == "help":
            self._help()
            self._schedule()
            return None
        if message == "ping":
            return "pong"
        if message == "count":
            return len(self._drives)
        raise TypeError(f"scatters got an unexpected message {message!r}")

    def _thread(self, name: str, body: Callable[[], None]) -> threading.Thread:
        ref = self.actor_ref
        holder: list[threading.Thread] = []

        def run() -> None:
            try:
                body()
            except Exception as exc:  # noqa: BLE001 - logged: the keys' leases run out for another
                log.error("scatter.drive_failed", scatter=name, error=f"{type(exc).__name__}: {exc}")
            finally:
                with contextlib.suppress(ActorDeadError):
                    ref.tell(_Ended(holder[0]))

        thread = threading.Thread(target=run, name=f"scatter-{name}", daemon=True)
        holder.append(thread)
        return thread

    def _start(self, drive: Drive) -> None:
        if self._halting.is_set():
            drive.stopping.set()
        thread = self._thread(drive.name, lambda: drive.body(self._halting))
        self._drives[thread] = drive.stopping
        thread.start()

    def _help(self) -> None:
        helper = self._helper
        if helper is None or self._halting.is_set():
            return
        if self._helping is not None and self._helping.is_alive():
            return  # one look at a time
        self._helping = self._thread("help", helper.help_once)
        self._helping.start()

    def _schedule(self) -> None:
        if self._helper is not None:
            self._looks.schedule()

    def _shutdown(self) -> None:
        self._halting.set()
        self._looks.cancel()
        if self._helper is not None:
            self._helper.stop()
        for stopping in self._drives.values():
            stopping.set()
        deadline = time.monotonic() + self._grace
        threads = list(self._drives)
        if self._helping is not None:
            threads.append(self._helping)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
            if thread.is_alive():  # a key still running: abandoned to its lease
                log.warning("scatter.abandoned", thread=thread.name)


def scatters_spec(helper: Helper | None, interval: float, grace: float) -> supervisors.ChildSpec:
    """The node's ``scatters`` child (after ``waits``: settling a scatter resumes its run)."""
    return supervisors.ChildSpec(
        "scatters", lambda: ScattersActor.start(helper, interval, grace), shutdown=grace + 1.0
    )
