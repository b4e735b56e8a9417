"""Child specifications and the vocabularies of supervisor options, validated on creation."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from supervisors._backoff import backoff_delay
from supervisors._errors import ChildSpecError

if TYPE_CHECKING:
    import pykka

__all__ = [
    "AutoShutdown",
    "Backoff",
    "ChildSpec",
    "ChildType",
    "Restart",
    "ShutdownValue",
    "Status",
    "Strategy",
    "check_child_specs",
    "check_flags",
]


class Restart(StrEnum):
    """When a child is restarted (OTP's restart table)."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


class ChildType(StrEnum):
    """Whether a child is a worker actor or a supervisor."""

    WORKER = "worker"
    SUPERVISOR = "supervisor"


class Strategy(StrEnum):
    """Which siblings are restarted with a failed child."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


class AutoShutdown(StrEnum):
    """When significant children ending on their own end their supervisor."""

    NEVER = "never"
    ANY_SIGNIFICANT = "any_significant"
    ALL_SIGNIFICANT = "all_significant"


class Status(StrEnum):
    """A child's state as its supervisor sees it."""

    RUNNING = "running"
    RESTARTING = "restarting"
    TERMINATED = "terminated"


ShutdownValue: TypeAlias = float | Literal["brutal_kill", "infinity"]


class StartedRef(Protocol):
    """A started child that is not a pykka ref: a nested ``SupervisorRef`` (or any ref like it).

    A protocol, not an import of ``SupervisorRef``: ``_ref`` builds on this module's specs,
    and a module lower down never imports one above it.
    """

    def is_alive(self) -> bool: ...


StartFunction: TypeAlias = "Callable[..., pykka.ActorRef[Any] | StartedRef | tuple[Any, Any] | None]"


def _enum_value(enum: type[StrEnum], value: object, code: str, what: str) -> Any:
    if type(value) is enum:  # already a member: the usual case, checked first (issue 22)
        return value
    try:
        return enum(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ChildSpecError(f"invalid {what} {value!r}; use one of {allowed}", code=code) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Delays between restarts of one child (beyond OTP, which restarts at once).

    The first restart waits ``initial``; each next one ``factor`` times longer, capped at
    ``max``, then spread by ±``jitter`` (a fraction; so a capped delay may exceed ``max`` by
    that fraction: ``supervisors.backoff_delay``). Once the child has run ``reset_after``
    seconds, the next crash starts again from ``initial``.
    """

    initial: float = 0.1
    max: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    reset_after: float = 60.0

    def __post_init__(self) -> None:
        checks = {
            "initial": self.initial >= 0,
            "max": self.max >= self.initial,
            "factor": self.factor >= 1.0,
            "jitter": 0.0 <= self.jitter < 1.0,
            "reset_after": self.reset_after > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ChildSpecError(
                    f"invalid backoff {name}={getattr(self, name)!r}: need initial ≥ 0, "
                    "max ≥ initial, factor ≥ 1, 0 ≤ jitter < 1, reset_after > 0",
                    code="invalid_backoff",
                )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before restart number ``attempt`` (1-based) since the last reset.

        The schedule is ``supervisors.backoff_delay``, the one FlowStone's retries and
        reconnect loops use too: jitter is applied after the cap and not clamped again.
        """
        return backoff_delay(
            attempt, base=self.initial, cap=self.max, factor=self.factor, jitter=self.jitter, rng=rng
        )


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """How a supervisor starts, restarts and stops one child.

    Args:
        id: the child's name within its supervisor (a label under a DynamicSupervisor).
        start: called in the supervisor's thread (with a DynamicSupervisor's
            ``extra_arguments``, else with none); returns the started child's ref (a
            ``supervisors.Actor`` ref or a ``SupervisorRef``), ``(ref, info)`` to hand
            ``info`` back from ``start_child``, or None to "ignore".
        restart: ``permanent`` (always), ``transient`` (after a crash), ``temporary`` (never).
        shutdown: seconds to wait for a clean stop, ``"infinity"``, or ``"brutal_kill"``.
            Defaults to 5.0 for workers and ``"infinity"`` for supervisors, as in OTP.
        type: ``worker`` or ``supervisor``.
        significant: ends the supervisor under ``auto_shutdown`` when it exits by itself.
        backoff: delays restarts of this child; None restarts at once.
        register: a process-wide name for the child (``supervisors.whereis(name)``),
            taken over by each restarted instance; a name held by another live actor
            fails the start with ``AlreadyStartedError`` (OTP's ``already_started``).
        isolation: ``"thread"`` (a thread actor), or ``"process"``: ``start`` is called in
            a new OS process (it must be picklable: a top-level function or class), and
            the child is its ``ProcessChild`` proxy, which ``shutdown`` really kills.
    """

    id: str
    start: StartFunction
    restart: Restart | str = Restart.PERMANENT
    shutdown: ShutdownValue | None = None
    type: ChildType | str = ChildType.WORKER
    significant: bool = False
    backoff: Backoff | None = field(default=None)
    register: str | None = None
    isolation: Literal["thread", "process"] = "thread"

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ChildSpecError(f"child spec needs a non-empty str id, got {self.id!r}", code="missing_id")
        if not callable(self.start):
            raise ChildSpecError(
                f"child {self.id!r}: start must be a callable returning an actor ref",
                code="missing_start",
            )
        setattr_ = object.__setattr__
        setattr_(self, "restart", _enum_value(Restart, self.restart, "invalid_restart", "restart"))
        setattr_(self, "type", _enum_value(ChildType, self.type, "invalid_type", "child type"))
        setattr_(self, "shutdown", self._checked_shutdown())
        if not isinstance(self.significant, bool):
            raise ChildSpecError(
                f"child {self.id!r}: significant must be a bool, got {self.significant!r}",
                code="invalid_significant",
            )
        if self.significant and self.restart == Restart.PERMANENT:
            raise ChildSpecError(
                f"child {self.id!r}: a significant child must be transient or temporary",
                code="invalid_significant",
            )
        if self.register is not None and (not isinstance(self.register, str) or not self.register):
            raise ChildSpecError(
                f"child {self.id!r}: register must be a non-empty str name, got {self.register!r}",
                code="invalid_name",
            )
        if self.isolation not in ("thread", "process"):
            raise ChildSpecError(
                f"child {self.id!r}: isolation must be 'thread' or 'process', got {self.isolation!r}",
                code="invalid_isolation",
            )
        if self.isolation == "process" and self.type == ChildType.SUPERVISOR:
            raise ChildSpecError(
                f"child {self.id!r}: a supervisor runs in this process; isolate its workers instead",
                code="invalid_isolation",
            )
        if self.backoff is not None and not isinstance(self.backoff, Backoff):
            raise ChildSpecError(
                f"child {self.id!r}: backoff must be a supervisors.Backoff", code="invalid_backoff"
            )

    def _checked_shutdown(self) -> ShutdownValue:
        value = self.shutdown
        if value is None:
            return "infinity" if self.type == ChildType.SUPERVISOR else 5.0
        if value == "brutal_kill":
            return "brutal_kill"
        if value == "infinity":
            return "infinity"
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and value >= 0
            and math.isfinite(value)
        ):
            return float(value)
        raise ChildSpecError(
            f"child {self.id!r}: invalid shutdown {value!r}; use seconds ≥ 0, 'infinity' or 'brutal_kill'",
            code="invalid_shutdown",
        )

    @property
    def shutdown_timeout(self) -> float | None:
        """Seconds to wait for the child to stop: 0 for brutal_kill, None for infinity."""
        if self.shutdown == "infinity":
            return None
        if self.shutdown == "brutal_kill":
            return 0.0
        assert isinstance(self.shutdown, float)
        return self.shutdown


def check_child_specs(specs: Iterable[ChildSpec], *, auto_shutdown: str = "never") -> None:
    """Validate specs as ``Supervisor.start`` would, without starting anything.

    Raises:
        ChildSpecError: ``badarg`` (not a list of ChildSpec), ``duplicate_child_id``, or
            ``invalid_significant`` (a significant child where auto_shutdown is never).
    """
    if isinstance(specs, str | bytes) or not isinstance(specs, Iterable):
        raise ChildSpecError(f"child specs must be a list, got {specs!r}", code="badarg")
    shutdown_mode = _enum_value(AutoShutdown, auto_shutdown, "invalid_auto_shutdown", "auto_shutdown")
    seen: set[str] = set()
    for spec in specs:
        if not isinstance(spec, ChildSpec):
            raise ChildSpecError(f"not a ChildSpec: {spec!r}", code="invalid_child_spec")
        if spec.id in seen:
            raise ChildSpecError(f"duplicate child id {spec.id!r}", code="duplicate_child_id")
        seen.add(spec.id)
        if spec.significant and shutdown_mode == AutoShutdown.NEVER:
            raise ChildSpecError(
                f"child {spec.id!r} is significant but auto_shutdown is 'never'",
                code="invalid_significant",
            )


def check_flags(max_restarts: object, max_seconds: object) -> None:
    """Validate restart-intensity flags (OTP: intensity ≥ 0, period > 0)."""
    if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
        raise ChildSpecError(
            f"invalid max_restarts {max_restarts!r}; use an int ≥ 0", code="invalid_intensity"
        )
    if (
        not isinstance(max_seconds, int | float)
        or isinstance(max_seconds, bool)
        or not (0 < max_seconds < math.inf)
    ):
        raise ChildSpecError(
            f"invalid max_seconds {max_seconds!r}; use a finite number > 0", code="invalid_period"
        )
