"""The node's infrastructure actors: the store's lifecycle and the resources."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import supervisors
from flowstone._limits import RateWindows, Reserve
from flowstone._resources import LiveResources, Resource, SetUp, set_up, tear_down

if TYPE_CHECKING:
    from flowstone._store import Store

__all__ = ["ResourcesActor", "StoreActor"]

_NO_CHECK: Any = object()  # a plain object without a health() method


class StoreActor(supervisors.Actor):
    """Opens the store on start, closes it on stop, and answers health pings.

    The store itself is used directly by every thread (it is a database, with its own
    concurrency control); this actor owns when it is connected, so that a restart of the
    store restarts everything that depends on it.
    """

    crash_on_ask_error = False  # an error it raises is its answer to the caller

    def __init__(self, store: Store) -> None:
        super().__init__()
        self._store = store

    def on_start(self) -> None:
        self._store.open()

    def on_stop(self) -> None:
        self._store.close()

    def on_failure(self, *_exc: object) -> None:
        self._store.close()

    def on_receive(self, message: Any) -> Any:
        if message == "ping":
            self._store.ping()
            return "pong"
        raise TypeError(f"store actor got an unexpected message {message!r}")


class ResourcesActor(supervisors.Actor):
    """Sets up the user's resources when it starts, tears them down when it stops (or
    crashes, or restarts), and checks their health.

    ``fs.Resource`` objects are set up in declaration order and torn down in reverse
    (``flowstone/_resources.py``); the objects assets see are published to ``live``.
    """

    crash_on_ask_error = False  # an error it raises is its answer to the caller

    def __init__(self, live: LiveResources) -> None:
        super().__init__()
        self._live = live
        self._state: SetUp | None = None
        self._rates = RateWindows()  # ``ctx.limit`` grants; kept across restarts of nothing else

    def on_start(self) -> None:
        self._state = set_up(self._live.declared)
        self._live.publish(self._state)

    def on_stop(self) -> None:
        self._release()

    def on_failure(self, *_exc: object) -> None:
        self._release()

    def _release(self) -> None:
        state, self._state = self._state, None
        self._live.publish(None)
        if state is not None:
            tear_down(self._live.declared, state.live)

    def _health(self) -> dict[str, tuple[str | None, float]]:
        """Per resource in declaration order: None when healthy or what is wrong, and how
        long its check took (ms)."""
        report: dict[str, tuple[str | None, float]] = {}
        state = self._state
        if state is None:
            return report
        for name in self._live.declared:
            if name in state.unavailable:
                report[name] = (f"unavailable: {state.unavailable[name]}", 0.0)
            elif name in state.live:
                started = time.perf_counter()
                problem = self._check(name, state.live[name])
                if problem is not _NO_CHECK:
                    report[name] = (problem, (time.perf_counter() - started) * 1000)
        return report

    def _check(self, name: str, obj: Any) -> Any:
        """None when healthy, what is wrong, or ``_NO_CHECK`` for a plain object without one."""
        resource = self._live.declared[name]
        check: Any
        args: tuple[Any, ...]
        if isinstance(resource, Resource):
            check, args = resource.health, (obj,)
        else:
            check, args = getattr(resource, "health", None), ()
        if not callable(check):
            return _NO_CHECK
        try:
            healthy = check(*args)
        except Exception as exc:  # noqa: BLE001 - reported as a failed check
            return f"{type(exc).__name__}: {exc}"
        return "its health check returned False" if healthy is False else None

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Reserve):
            return self._rates.reserve(message, time.monotonic())
        if message == "health":
            return {name: problem for name, (problem, _ms) in self._health().items() if problem is not None}
        if message == "health_each":
            return self._health()
        if message == "ping":
            return "pong"
        raise TypeError(f"resources actor got an unexpected message {message!r}")
