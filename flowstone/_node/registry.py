"""The registry actor: the node's pipelines, held only by weak reference.

There is no process-global table of definitions. A pipeline is registered when a node
first runs it, synchronously, before any record of the run exists. Each pipeline object
registered under a name is one *generation* of that name (a module reload makes a new
one while the old may still be alive, running or referenced). When a generation is
collected its entry disappears; the node releases what it kept in memory for the name
(``Store.release``, ``IOManager.release``) only once no live generation of the name is
left, so a collected pipeline's release never touches a live pipeline of the same name,
nor a run of one. Messages carry names and weak references, never pipelines, so no
mailbox keeps one alive.

The registry also keeps the table of runs in flight (``flowstone._node.flights``), keyed
by generation, so that concurrent runs of one target share one materialization.
"""

from __future__ import annotations

import contextlib
import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError

import supervisors
from flowstone._node.flights import Flights, Join, Landed, Ticket
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["Lookup", "LookupReference", "Register", "RegistryActor"]

log = get_logger("flowstone")

#: (generation number, weak reference whose callback reports the collection)
_Generation = tuple[int, weakref.ReferenceType["Pipeline"]]


@dataclass(frozen=True, slots=True)
class Register:
    """Register the pipeline behind ``ref`` under its name (a new generation if it is new)."""

    name: str
    ref: weakref.ReferenceType[Pipeline]
    reference: str | None = None  # "package.module:attribute", when imported by a worker


@dataclass(frozen=True, slots=True)
class _Collected:
    name: str
    ref: weakref.ReferenceType[Pipeline]


@dataclass(frozen=True, slots=True)
class Lookup:
    """The newest live generation of a name (a weak reference), or None."""

    name: str


@dataclass(frozen=True, slots=True)
class LookupReference:
    reference: str


class RegistryActor(supervisors.Actor):
    """Holds ``name → [weakref(pipeline), ...]``; releases a name's memory once none is alive."""

    crash_on_ask_error = False  # an error it raises is its answer to the caller

    def __init__(self, release: Callable[[str], None]) -> None:
        super().__init__()
        self._generations: dict[str, list[_Generation]] = {}
        self._numbers = itertools.count(1)
        self._references: dict[str, weakref.ReferenceType[Pipeline]] = {}
        self._flights = Flights()
        self._release = release

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Join):
            return self._join(message)
        if isinstance(message, Landed):
            self._flights.landed(message.key, message.run_id)
            return None
        if isinstance(message, Register):
            self._register(message.name, message.ref, message.reference)
            return None
        if isinstance(message, _Collected):
            self._collected(message)
            return None
        if isinstance(message, Lookup):
            generations = reversed(self._generations.get(message.name, ()))
            return next((ref for _, ref in generations if ref() is not None), None)
        if isinstance(message, LookupReference):
            return self._references.get(message.reference)
        if message == "names":
            return sorted(name for name in self._generations if self._alive(name))
        if message == "ping":
            return "pong"
        raise TypeError(f"registry got an unexpected message {message!r}")

    def _join(self, message: Join) -> Ticket | None:
        generation = self._register(message.name, message.ref)
        if generation is None:
            return None  # collected meanwhile: nobody is left to run it for
        ticket = self._flights.join(
            (message.name, generation, message.asset, message.partition_key), force=message.force
        )
        if not ticket.leads:
            log.info(
                "run.joined",
                pipeline=message.name,
                asset=message.asset,
                partition=message.partition_key,
                run_id=ticket.flight.run_id,
            )
        return ticket

    def _alive(self, name: str) -> bool:
        return any(ref() is not None for _, ref in self._generations.get(name, ()))

    def _register(
        self, name: str, ref: weakref.ReferenceType[Pipeline], reference: str | None = None
    ) -> int | None:
        """The generation number of the pipeline behind ``ref`` (registered if new)."""
        pipeline = ref()
        if pipeline is None:
            # Collected before this message was handled: no callback will come for it, so
            # release its memory now, unless a live pipeline of that name is registered.
            if not self._alive(name):
                self._forget(name)
            return None
        if reference is not None:
            self._references[reference] = weakref.ref(pipeline)
        generations = self._generations.setdefault(name, [])
        for number, known in generations:
            if known() is pipeline:
                return number
        if any(known() is not None for _, known in generations):
            log.info("registry.pipeline_replaced", pipeline=name)
        number = next(self._numbers)
        generations.append((number, weakref.ref(pipeline, self._on_collected(name))))
        return number

    def _on_collected(self, name: str) -> Callable[[weakref.ReferenceType[Pipeline]], None]:
        actor_ref = self.actor_ref

        def collected(ref: weakref.ReferenceType[Pipeline]) -> None:
            # Runs wherever the garbage collector runs: only enqueue.
            with contextlib.suppress(ActorDeadError):
                actor_ref.tell(_Collected(name, ref))

        return collected

    def _collected(self, message: _Collected) -> None:
        generations = self._generations.get(message.name, [])
        kept = [(number, ref) for number, ref in generations if ref is not message.ref]
        if len(kept) == len(generations):
            return  # already forgotten with its name
        self._references = {k: r for k, r in self._references.items() if r() is not None}
        if any(ref() is not None for _, ref in kept):
            self._generations[message.name] = kept  # a newer (or older) one lives: keep its values
            log.info("registry.generation_collected", pipeline=message.name)
            return
        self._forget(message.name)
        log.info("registry.pipeline_collected", pipeline=message.name)

    def _forget(self, name: str) -> None:
        """No live generation of ``name`` is left: release what the node keeps for it.

        Generations already dead but not yet reported are dropped with it; their reports
        then find nothing, so they never release a generation registered later.
        """
        self._generations.pop(name, None)
        self._release(name)
