"""Helpers shared by the supervisor tests (importable once ``conftest.py`` put this
directory on ``sys.path``; the module name is unique among the test helpers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from supervisors import Actor, ChildSpec, Supervisor, SupervisorRef, monitor
from supervisors.testing import CrashWorker


class Harness:
    """Starts supervisors and gates for one test; releases and stops them all afterwards."""

    def __init__(self) -> None:
        self.supervisors: list[SupervisorRef] = []
        self.gates: list[threading.Event] = []

    def start(self, children: list[ChildSpec], **flags: Any) -> SupervisorRef:
        sup = Supervisor.start(children, **flags)
        self.supervisors.append(sup)
        return sup

    def gate(self) -> threading.Event:
        event = threading.Event()
        self.gates.append(event)
        return event

    def close(self) -> None:
        for gate in self.gates:
            gate.set()
        for sup in reversed(self.supervisors):
            sup.stop(timeout=10.0)


class StartFailedError(RuntimeError):
    """Raised by a Starter on the calls it was told to fail."""


class Starter:
    """A start function that counts its calls, keeps the refs it started, fails on demand."""

    def __init__(
        self,
        name: str,
        *,
        fails: Callable[[int], bool] = lambda _call: False,
        events: list[str] | None = None,
    ) -> None:
        self.name = name
        self.fails = fails
        self.events = events
        self.calls = 0
        self.refs: list[Any] = []

    def __call__(self) -> Any:
        self.calls += 1
        if self.fails(self.calls):
            if self.events is not None:
                self.events.append(f"fail:{self.name}")
            raise StartFailedError(f"start #{self.calls} of {self.name} fails")
        ref = CrashWorker.start(name=self.name, events=self.events)
        self.refs.append(ref)
        return ref

    def spec(self, **options: Any) -> ChildSpec:
        return ChildSpec(self.name, self, **options)


class CountingStart:
    """A start function that counts its calls and keeps the CrashWorkers it started."""

    def __init__(self, name: str, events: list[str] | None = None) -> None:
        self.name = name
        self.events = events
        self.calls = 0
        self.refs: list[Any] = []

    def __call__(self) -> Any:
        self.calls += 1
        ref = CrashWorker.start(name=self.name, events=self.events)
        self.refs.append(ref)
        return ref


def counts(specs: int, active: int, supervisors: int, workers: int) -> dict[str, int]:
    """The dict ``count_children()`` returns, built positionally."""
    return {"specs": specs, "active": active, "supervisors": supervisors, "workers": workers}


def exited(ref: Any) -> threading.Event:
    """An event set once ``ref`` has ended and its supervisor has been told (its monitor
    was registered first, so it has already queued the exit)."""
    event = threading.Event()
    monitor(ref, lambda _down: event.set())
    return event


class Holder(Actor):
    """Holds inside a ``"hold"`` message, or inside ``on_stop``, until released."""

    def __init__(self, *, held: threading.Event, release: threading.Event, in_stop: bool = False) -> None:
        super().__init__()
        self._held = held
        self._release = release
        self._in_stop = in_stop

    def on_receive(self, message: Any) -> Any:
        if message == "hold":
            self._held.set()
            self._release.wait()
            return None
        if message == "ping":
            return "pong"
        return None

    def on_stop(self) -> None:
        if self._in_stop:
            self._held.set()
            self._release.wait()


class HolderStart:
    """Starts Holders for one child id; records whether an older instance was still alive."""

    def __init__(self, harness: Harness, *, in_stop: bool = False) -> None:
        self.held = threading.Event()
        self.release = harness.gate()
        self.in_stop = in_stop
        self.refs: list[Any] = []
        self.overlaps: list[bool] = []

    def __call__(self) -> Any:
        self.overlaps.append(any(ref.is_alive() for ref in self.refs))
        ref = Holder.start(held=self.held, release=self.release, in_stop=self.in_stop)
        self.refs.append(ref)
        return ref
