"""A supervisor's flags, fixed when it starts (``SupervisorConfig``).

A module of its own, below both the supervisor actor and its admin calls (a mixin of the
actor), so that neither imports the other to name it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supervisors._actor import ActorRef
from supervisors._clock import Clock
from supervisors._intensity import GaveUp
from supervisors._spec import AutoShutdown, ChildSpec, Strategy

__all__ = ["SupervisorConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorConfig:
    """A supervisor's flags, fixed at start."""

    name: str
    dynamic: bool
    strategy: Strategy
    max_restarts: int
    max_seconds: float
    auto_shutdown: AutoShutdown
    max_children: int | None
    clock: Clock
    specs: tuple[ChildSpec, ...] = ()
    register: str | None = None
    extra_arguments: tuple[Any, ...] = ()
    on_give_up: Callable[[GaveUp], None] | None = None
    wrap: Callable[[ActorRef], Any] | None = None  # what ``register`` hands out (a SupervisorRef)
