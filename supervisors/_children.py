"""One supervised child: its record, and how it is started and terminated."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supervisors._actor import _Lifecycle, lifecycle_of
from supervisors._clock import Cancellable
from supervisors._errors import StartChildError
from supervisors._log import get_logger
from supervisors._reasons import Crashed, ExitReason, Killed
from supervisors._spec import ChildSpec, Restart, Status

__all__ = ["ChildRecord", "start_instance", "stop_instances"]

log = get_logger("supervisors")


@dataclass(slots=True, eq=False)
class ChildRecord:
    """What a supervisor knows about one child spec and its current instance."""

    key: int
    spec: ChildSpec
    ref: Any = None
    urn: str | None = None  # of the current or last instance; how it is found by ref
    lifecycle: _Lifecycle | None = None
    monitor_token: int | None = None
    instance: int = 0
    status: Status = Status.TERMINATED
    restarts: int = 0
    last_exit: ExitReason | None = None
    started_at: float | None = None  # wall-clock, for humans
    started_mono: float | None = None  # injected clock, for backoff resets
    backoff_attempt: int = 0
    zombie: _Lifecycle | None = None  # a killed instance whose thread still runs
    pending: Cancellable | None = None  # a delayed restart

    @property
    def running(self) -> bool:
        return self.status == Status.RUNNING

    @property
    def temporary(self) -> bool:
        return self.spec.restart == Restart.TEMPORARY

    def zombie_alive(self) -> bool:
        if self.zombie is not None and self.zombie.exited:
            self.zombie = None
        return self.zombie is not None

    def cancel_pending(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None


def start_instance(
    child: ChildRecord,
    now: float,
    on_down: Callable[[int, int, ExitReason], None],
) -> Any:
    """Start a new instance of ``child``; returns its ref, or None when the start ignored.

    Blocks until the new actor's ``on_start`` has finished, so that start is synchronous
    as in OTP. Raises ``StartChildError`` with the cause when the start fails.
    """
    spec = child.spec
    try:
        ref = spec.start()
    except BaseException as exc:
        raise StartChildError(spec.id, exc) from exc
    if ref is None:
        return None
    try:
        lifecycle = lifecycle_of(ref)
    except TypeError as exc:
        stop = getattr(ref, "stop", None)
        if callable(stop):
            stop(block=False)
        raise StartChildError(spec.id, exc) from exc
    error = lifecycle.wait_started()
    if error is not None:
        raise StartChildError(spec.id, error) from error
    child.instance += 1
    instance = child.instance
    child.ref = ref
    child.lifecycle = lifecycle
    child.status = Status.RUNNING
    child.started_at = time.time()
    child.started_mono = now
    token = lifecycle.add_monitor(lambda reason: on_down(child.key, instance, reason))
    child.monitor_token = token
    if token is None:  # it ended between its start and the monitor: report it now
        reason = lifecycle.exit_reason
        assert reason is not None
        on_down(child.key, instance, reason)
    return ref


def _detach(child: ChildRecord) -> _Lifecycle | None:
    """Forget the current instance so that its exit notification is ignored."""
    lifecycle = child.lifecycle
    if lifecycle is not None and child.monitor_token is not None:
        lifecycle.remove_monitor(child.monitor_token)
    child.instance += 1
    child.ref = None
    child.lifecycle = None
    child.monitor_token = None
    child.status = Status.TERMINATED
    return lifecycle


def stop_instances(children: list[ChildRecord], supervisor: str) -> None:
    """Shut the given children down together, each within its own shutdown budget.

    Every child is asked to stop at once (skipping its queued messages); then each is
    awaited until its deadline. One that misses it is reported ``Killed`` and kept as a
    zombie so that no replacement starts while its thread still runs. Callers pass one
    child to stop children in order, or many to stop them in parallel.
    """
    started = time.monotonic()
    pending: list[tuple[ChildRecord, _Lifecycle]] = []
    for child in children:
        child.cancel_pending()
        lifecycle = _detach(child)
        if lifecycle is None:
            continue
        if child.spec.shutdown == "brutal_kill":
            lifecycle.mark_killed()
        lifecycle.request_shutdown()
        pending.append((child, lifecycle))
    for child, lifecycle in pending:
        budget = child.spec.shutdown_timeout
        remaining = None if budget is None else max(0.0, started + budget - time.monotonic())
        if lifecycle.wait_exited(remaining):
            reason = lifecycle.exit_reason
        else:
            lifecycle.mark_killed()
            reason = Killed()
            if not lifecycle.exited:
                child.zombie = lifecycle
        assert reason is not None
        child.last_exit = reason
        log.info(
            "supervisor.child_exited",
            supervisor=supervisor,
            child=child.spec.id,
            reason=reason.describe(),
        )


def urn_of(ref: Any) -> str | None:
    """The actor URN of a child ref (worker or supervisor), None for no ref."""
    return getattr(ref, "actor_urn", None)


def describe_failure(error: BaseException) -> str:
    """One line for a start error: the cause's type and message."""
    cause = error.__cause__ or error
    return Crashed(cause).describe()
