"""The node's infrastructure actors: the store's lifecycle and the resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import supervisors

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
    """Holds the user's resources (clients, connections) and checks their health.

    A resource with a ``health()`` method is asked during ``node.health()``; one that
    raises makes the node report ``degraded``.
    """

    crash_on_ask_error = False  # an error it raises is its answer to the caller

    def __init__(self, resources: Mapping[str, Any]) -> None:
        super().__init__()
        self._resources = resources

    def on_receive(self, message: Any) -> Any:
        if message == "health":
            problems: dict[str, str] = {}
            for name, resource in self._resources.items():
                check = getattr(resource, "health", None)
                if callable(check):
                    try:
                        check()
                    except Exception as exc:  # noqa: BLE001 - reported as a failed check
                        problems[name] = f"{type(exc).__name__}: {exc}"
            return problems
        if message == "ping":
            return "pong"
        raise TypeError(f"resources actor got an unexpected message {message!r}")
