"""Registered names: reach an actor by a stable name across restarts (OTP's ``{local, Name}``).

A name is registered process-wide to one live actor (a ``supervisors.Actor`` ref or a
supervisor). It is released when that actor ends, so a child registered through its
``ChildSpec(register=...)`` hands the name to its restarted instance. Names hold their
actors weakly: a dropped, stopped actor leaves nothing behind.

The table is a lock-guarded dict rather than an actor on purpose: ``whereis`` must answer
from any thread, in the middle of a restart or a shutdown, without a mailbox round trip.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supervisors._actor import ActorRef
from supervisors._errors import AlreadyStartedError, ChildSpecError
from supervisors._lifecycle import lifecycle_of
from supervisors._reasons import ExitReason

__all__ = ["check_name", "register", "registered", "unregister", "whereis"]

Wrap = Callable[[ActorRef], Any]


@dataclass(frozen=True, slots=True)
class _Entry:
    actor: weakref.ref[ActorRef]
    wrap: Wrap | None  # rebuilds the handle handed out (a SupervisorRef) from the actor ref

    def live(self) -> Any:
        actor = self.actor()
        if actor is None or actor._lifecycle.exited:
            return None
        return actor if self.wrap is None else self.wrap(actor)


_lock = threading.Lock()
_table: dict[str, _Entry] = {}


def check_name(name: object) -> str:
    """A registered name must be a non-empty str."""
    if not isinstance(name, str) or not name:
        raise ChildSpecError(f"a registered name must be a non-empty str, got {name!r}", code="invalid_name")
    return name


def _actor_of(ref: Any) -> ActorRef:
    inner = getattr(ref, "actor_ref", None)  # a SupervisorRef names its actor's ref
    actor = inner if isinstance(inner, ActorRef) else ref
    if not isinstance(actor, ActorRef):
        raise TypeError(f"{ref!r} is not a supervisors.Actor ref or a SupervisorRef")
    return actor


def register(name: str, ref: Any, *, wrap: Wrap | None = None) -> None:
    """Register ``name`` to the live actor behind ``ref`` until that actor ends.

    Raises:
        AlreadyStartedError: the name is held by another live actor (``.holder``).
        ChildSpecError: the name is not a non-empty str (``invalid_name``).
    """
    check_name(name)
    actor = _actor_of(ref)
    if wrap is None and actor is not ref:
        # A SupervisorRef: its own class rebuilds it (_ref imports this module, so the
        # class is not named here; issue 22).
        holder_kind = getattr(ref, "kind", "supervisor")
        holder_name = getattr(ref, "name", name)
        rebuild: Callable[..., Any] = type(ref)
        wrap = functools.partial(rebuild, name=holder_name, kind=holder_kind)
    lifecycle = lifecycle_of(actor)
    with _lock:
        current = _table.get(name)
        holder = current.live() if current is not None else None
        if holder is not None:
            if current is not None and current.actor() is actor:
                return
            raise AlreadyStartedError(name, holder)
        _table[name] = _Entry(weakref.ref(actor), wrap)
    token = lifecycle.add_monitor(_releaser(name, weakref.ref(actor)))
    if token is None:  # it ended meanwhile
        _release(name, actor)


def _releaser(name: str, actor: weakref.ref[ActorRef]) -> Callable[[ExitReason], None]:
    def release(_reason: ExitReason) -> None:
        held = actor()
        if held is not None:
            _release(name, held)
        else:
            with _lock:
                entry = _table.get(name)
                if entry is not None and entry.actor() is None:
                    del _table[name]

    return release


def _release(name: str, actor: ActorRef) -> None:
    with _lock:
        entry = _table.get(name)
        if entry is not None and entry.actor() in (actor, None):
            del _table[name]


def unregister(name: str) -> bool:
    """Release ``name`` now; True if it was registered to a live actor."""
    with _lock:
        entry = _table.pop(name, None)
    return entry is not None and entry.live() is not None


def whereis(name: str) -> Any:
    """The live actor (or ``SupervisorRef``) registered under ``name``, or None."""
    with _lock:
        entry = _table.get(name)
    return entry.live() if entry is not None else None


def registered() -> list[str]:
    """The names registered to live actors, sorted."""
    with _lock:
        entries = list(_table.items())
    return sorted(name for name, entry in entries if entry.live() is not None)
