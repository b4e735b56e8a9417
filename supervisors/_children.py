"""One supervised child: its record, and how it is started and terminated."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supervisors import _names as names
from supervisors._actor import ActorRef, recording_starts
from supervisors._clock import Cancellable
from supervisors._errors import AlreadyStartedError, StartChildError
from supervisors._lifecycle import Lifecycle, lifecycle_of
from supervisors._log import get_logger
from supervisors._reasons import Crashed, ExitReason, Killed
from supervisors._spec import ChildSpec, ChildType, Restart, Status

__all__ = ["NO_INFO", "ChildRecord", "start_instance", "stop_instances"]

#: ``ChildRecord.info`` when the start function returned a bare ref (OTP's ``{ok, Pid}``).
NO_INFO: Any = object()

log = get_logger("supervisors")

#: How long a failed start waits for each actor it had started to stop (a worker's
#: default shutdown budget).
_ORPHAN_BUDGET = 5.0
#: How much longer than its budget a process child's proxy is waited for: it sends SIGKILL
#: when the budget runs out, and needs a moment to reap the process and report.
_KILL_MARGIN = 1.0


@dataclass(slots=True, eq=False)
class ChildRecord:
    """What a supervisor knows about one child spec and its current instance."""

    key: int
    spec: ChildSpec
    ref: Any = None
    urn: str | None = None  # of the current or last instance; how it is found by ref
    lifecycle: Lifecycle | None = None
    monitor_token: int | None = None
    instance: int = 0
    status: Status = Status.TERMINATED
    restarts: int = 0
    last_exit: ExitReason | None = None
    started_at: float | None = None  # wall-clock, for humans
    started_mono: float | None = None  # injected clock, for backoff resets
    backoff_attempt: int = 0
    zombie: Lifecycle | None = None  # a killed instance whose thread still runs
    pending: Cancellable | None = None  # a delayed restart
    info: Any = NO_INFO  # what the start function returned with the ref, as ``(ref, info)``
    #: Its last exit is to be logged by the restart that follows at once (one event per
    #: restart, ``child_restarted`` with the reason), or by ``child_exited`` if none does.
    exit_unlogged: bool = False

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
    extra_arguments: tuple[Any, ...] = (),
) -> Any:
    """Start a new instance of ``child``; returns its ref, or None when the start ignored.

    Blocks until the new actor's ``on_start`` has finished, so that start is synchronous
    as in OTP. Raises ``StartChildError`` with the cause when the start fails; the actors
    the start function had started by then are stopped first (as links would end them in
    OTP), so a failed start leaves no thread behind. The start function is called with
    ``extra_arguments`` (a DynamicSupervisor's); it may return ``(ref, info)`` (OTP's
    ``{ok, Pid, Info}``): ``info`` is kept in ``child.info``.
    """
    spec = child.spec
    if spec.register is not None:
        holder = names.whereis(spec.register)
        if holder is not None:
            raise StartChildError(spec.id, AlreadyStartedError(spec.register, holder))
    with recording_starts() as started:
        try:
            ref = _call_start(spec, extra_arguments)
        except BaseException as exc:
            _stop_started(started, spec.id)
            raise StartChildError(spec.id, exc) from exc
    child.info = NO_INFO
    if isinstance(ref, tuple) and len(ref) == 2:
        ref, child.info = ref
    if ref is None:
        return None
    try:
        lifecycle = lifecycle_of(ref)
    except TypeError as exc:
        stop = getattr(ref, "stop", None)
        if callable(stop):
            stop(block=False)
        _stop_started(started, spec.id)
        raise StartChildError(spec.id, exc) from exc
    lifecycle.supervised = True  # its crashes are reported by the supervisor
    error = lifecycle.wait_started()
    if error is None and spec.register is not None:
        try:
            names.register(spec.register, ref)
        except AlreadyStartedError as taken:  # taken between the check and now
            error = taken
    if error is not None:
        _stop_started(started, spec.id)
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


def _call_start(spec: ChildSpec, extra_arguments: tuple[Any, ...]) -> Any:
    if spec.isolation == "process":
        # Deferred: multiprocessing costs ~15 ms of `import supervisors`, and only a
        # process-isolated child needs it (issue 22, import time).
        from supervisors._process import ProcessChild  # noqa: PLC0415

        return ProcessChild.start(
            spec.start, *extra_arguments, stop_timeout=spec.shutdown_timeout, name=spec.id
        )
    return spec.start(*extra_arguments)


def _stop_started(started: list[ActorRef], child_id: str) -> None:
    """Stop, newest first, the actors a failed start function had started."""
    for ref in reversed(started):
        lifecycle = ref._lifecycle
        if lifecycle.exited:
            lifecycle.wait_exited()  # joins its thread
            continue
        lifecycle.request_shutdown()
        if not lifecycle.wait_exited(_ORPHAN_BUDGET):
            lifecycle.mark_killed()
            log.warning("supervisor.start_orphan_abandoned", child=child_id, actor=ref.actor_urn)


def _detach(child: ChildRecord) -> Lifecycle | None:
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


def stop_instances(children: list[ChildRecord], supervisor: str, deadline: float | None = None) -> None:
    """Shut the given children down together, each within its own shutdown budget.

    Every child is asked to stop at once (skipping its queued messages); then each is
    awaited until its budget runs out, or until ``deadline`` (a ``time.monotonic()``
    value) if that comes first. A child supervisor is handed the deadline and keeps it
    itself (it abandons its own children then, and reports), so it is awaited by its own
    budget. One that misses it is reported ``Killed`` and kept as a zombie so that no
    replacement starts while its thread still runs. Callers pass one child to stop
    children in order, or many to stop them in parallel.
    """
    started = time.monotonic()
    pending: list[tuple[ChildRecord, Lifecycle]] = []
    for child in children:
        child.cancel_pending()
        lifecycle = _detach(child)
        if lifecycle is None:
            continue
        if child.spec.shutdown == "brutal_kill":
            lifecycle.mark_killed()
        lifecycle.request_shutdown(deadline)
        pending.append((child, lifecycle))
    for child, lifecycle in pending:
        budget = child.spec.shutdown_timeout
        if budget is not None and child.spec.isolation == "process":
            budget += _KILL_MARGIN  # its proxy sends SIGKILL at the budget: let it report
        until = None if budget is None else started + budget
        if deadline is not None and child.spec.type != ChildType.SUPERVISOR:
            until = deadline if until is None else min(until, deadline)
        remaining = None if until is None else max(0.0, until - time.monotonic())
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
