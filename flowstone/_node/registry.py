"""The registry actor: the node's pipelines, held only by weak reference.

There is no process-global table of definitions. A pipeline is registered when a node
first runs it; when the object is collected (module reloaded, test finished, dynamic
pipeline dropped), its entry disappears and the node releases what it kept in memory for
it. Messages carry names and weak references, never pipelines, so no mailbox keeps one
alive.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError

import supervisors
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["Lookup", "LookupReference", "Register", "RegistryActor"]

log = get_logger("flowstone")


@dataclass(frozen=True, slots=True)
class Register:
    """Register the pipeline behind ``ref`` under its name (replacing an older one)."""

    name: str
    ref: weakref.ReferenceType[Pipeline]
    reference: str | None = None  # "package.module:attribute", when imported by a worker


@dataclass(frozen=True, slots=True)
class _Collected:
    name: str
    ref: weakref.ReferenceType[Pipeline]


@dataclass(frozen=True, slots=True)
class Lookup:
    name: str


@dataclass(frozen=True, slots=True)
class LookupReference:
    reference: str


class RegistryActor(supervisors.Actor):
    """Holds ``name → weakref(pipeline)``; releases a pipeline's memory when it is collected."""

    def __init__(self, release: Callable[[str], None]) -> None:
        super().__init__()
        self._entries: dict[str, weakref.ReferenceType[Pipeline]] = {}
        self._references: dict[str, weakref.ReferenceType[Pipeline]] = {}
        self._release = release

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Register):
            self._register(message)
            return None
        if isinstance(message, _Collected):
            self._collected(message)
            return None
        if isinstance(message, Lookup):
            return self._entries.get(message.name)
        if isinstance(message, LookupReference):
            return self._references.get(message.reference)
        if message == "names":
            return sorted(name for name, ref in self._entries.items() if ref() is not None)
        if message == "ping":
            return "pong"
        raise TypeError(f"registry got an unexpected message {message!r}")

    def _register(self, message: Register) -> None:
        current = self._entries.get(message.name)
        pipeline = message.ref()
        if pipeline is None:
            # Collected before this message was handled: no callback will come for it, so
            # release its memory now, unless a live pipeline of that name holds the entry.
            if current is None or current() is None:
                self._entries.pop(message.name, None)
                self._release(message.name)
            return
        if message.reference is not None:
            self._references[message.reference] = weakref.ref(pipeline)
        if current is not None and current() is pipeline:
            return
        self._entries[message.name] = weakref.ref(pipeline, self._on_collected(message.name))
        del pipeline
        if current is not None:
            log.info("registry.pipeline_replaced", pipeline=message.name)

    def _on_collected(self, name: str) -> Callable[[weakref.ReferenceType[Pipeline]], None]:
        actor_ref = self.actor_ref

        def collected(ref: weakref.ReferenceType[Pipeline]) -> None:
            # Runs wherever the garbage collector runs: only enqueue.
            with contextlib.suppress(ActorDeadError):
                actor_ref.tell(_Collected(name, ref))

        return collected

    def _collected(self, message: _Collected) -> None:
        if self._entries.get(message.name) is not message.ref:
            return  # replaced by a newer pipeline of the same name: keep its values
        del self._entries[message.name]
        self._references = {k: r for k, r in self._references.items() if r() is not None}
        self._release(message.name)
        log.info("registry.pipeline_collected", pipeline=message.name)
