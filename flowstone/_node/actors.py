"""The node's infrastructure actors: the store's lifecycle and the resources."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import supervisors
from flowstone._limits import RateWindows, Reserve
from flowstone._node.resource_health import HealthTarget
from flowstone._resources import LiveResources, Resource, SetUp, release, set_up

if TYPE_CHECKING:
    from flowstone._store import Store

__all__ = ["ResourcesActor", "StoreActor"]


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
            release(self._live.declared, state)

    def _health_targets(self) -> list[HealthTarget]:
        """Per resource in declaration order, what ``node.health()`` reports: a known
        problem, or the check to run — run by the caller, so that a hanging check
        neither blocks this actor nor hides the other resources' checks."""
        targets: list[HealthTarget] = []
        state = self._state
        if state is None:
            return targets
        for name, resource in self._live.declared.items():
            if name in state.unavailable:
                targets.append(HealthTarget(name, problem=f"unavailable: {state.unavailable[name]}"))
            elif name in state.live:
                obj = state.live[name]
                if isinstance(resource, Resource):
                    targets.append(HealthTarget(name, check=resource.health, args=(obj,)))
                elif callable(check := getattr(resource, "health", None)):
                    targets.append(HealthTarget(name, check=check))
                else:  # one check per resource: a plain object without health() is up
                    targets.append(HealthTarget(name))
        return targets

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Reserve):
            return self._rates.reserve(message, time.monotonic())
        if message == "health_targets":
            return self._health_targets()
        if message == "ping":
            return "pong"
        raise TypeError(f"resources actor got an unexpected message {message!r}")
