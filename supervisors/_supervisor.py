"""The supervisor actor: OTP's restart strategies, intensity and admin calls.

All of a supervisor's state lives in this actor. Children report their exits through
monitors, which send ``_ChildDown`` messages here; restarts that fail are retried through
the mailbox (``_RestartRound``), so admin calls and shutdown are served between attempts.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pykka import ActorDeadError

from supervisors import _names as names
from supervisors._actor import Actor
from supervisors._admin import AdminCalls
from supervisors._children import (
    ChildRecord,
    describe_failure,
    start_instance,
    stop_instances,
    urn_of,
)
from supervisors._config import SupervisorConfig
from supervisors._errors import StartChildError
from supervisors._intensity import GaveUp, RestartWindow
from supervisors._log import get_logger
from supervisors._reasons import ExitReason
from supervisors._spec import (
    AutoShutdown,
    ChildSpec,
    Restart,
    Status,
    Strategy,
)

__all__ = ["SupervisorActor"]

log = get_logger("supervisors")


def _level(reason: ExitReason) -> int:
    """A crash is a WARNING: seen at stdlib's default level, as OTP's error reports are."""
    return logging.WARNING if reason.is_crash else logging.INFO


@dataclass(frozen=True, slots=True)
class _ChildDown:
    key: int
    instance: int
    reason: ExitReason


@dataclass(frozen=True, slots=True)
class _RestartRound:
    keys: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """An admin call from a ``SupervisorRef``: the method name and its arguments."""

    method: str
    args: tuple[Any, ...] = ()


class SupervisorActor(AdminCalls, Actor):
    """Runs one supervisor; see ``docs/supervisors.md`` for the semantics."""

    #: A refused admin call is its answer (OTP's ``{error, Reason}``), not a crash.
    crash_on_ask_error = False

    def __init__(self, config: SupervisorConfig) -> None:
        super().__init__()
        self.config = config
        self._children: dict[int, ChildRecord] = {}
        self._by_id: dict[str, int] = {}
        self._by_urn: dict[str, int] = {}
        self._next_key = 0
        self._window = RestartWindow(config.max_restarts, config.max_seconds)
        self._stopping = False
        self._recent_exits: deque[tuple[str, ExitReason]] = deque(maxlen=10)

    # --- lifecycle ---------------------------------------------------------------
    def on_start(self) -> None:
        if self.config.register is not None:  # before any child starts: a taken name fails fast
            names.register(self.config.register, self.actor_ref, wrap=self.config.wrap)
        for spec in self.config.specs:
            child = self._add(spec)
            try:
                ref = self._start_child(child)
            except StartChildError as error:
                self._log_start_error(child, error)
                self._remove(child)
                self._terminate_all()
                raise
            if ref is None and child.temporary:
                self._remove(child)

    def on_stop(self) -> None:
        self._terminate_all()

    def on_failure(self, *_exc_info: object) -> None:
        self._terminate_all()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, _ChildDown):
            self._child_down(message)
            return None
        if isinstance(message, _RestartRound):
            self._restart_round(message.keys)
            return None
        if isinstance(message, Call):
            return getattr(self, f"call_{message.method}")(*message.args)
        raise TypeError(f"unexpected message {message!r}")

    # --- bookkeeping -------------------------------------------------------------
    def _add(self, spec: ChildSpec) -> ChildRecord:
        self._next_key += 1
        child = ChildRecord(self._next_key, spec)
        self._children[child.key] = child
        if not self.config.dynamic:
            self._by_id[spec.id] = child.key
        return child

    def _remove(self, child: ChildRecord) -> None:
        child.cancel_pending()
        self._forget_urn(child)
        self._children.pop(child.key, None)
        if self._by_id.get(child.spec.id) == child.key:
            del self._by_id[child.spec.id]

    def _start_child(self, child: ChildRecord, *, restart: bool = False) -> Any:
        ref = start_instance(
            child, self.config.clock.monotonic(), self._notify_down, self.config.extra_arguments
        )
        urn = urn_of(ref)
        if urn is not None:
            self._forget_urn(child)
            child.urn = urn
            self._by_urn[urn] = child.key
        if ref is None:
            self._log_exit(child)
            log.info("supervisor.child_ignored", supervisor=self.config.name, child=child.spec.id)
        elif not restart:  # a restart is logged once, by the caller: child_restarted
            # A debug event, as OTP's start progress reports are hidden at its default
            # level: a DynamicSupervisor may start thousands of children (issue 22).
            log.debug("supervisor.child_started", supervisor=self.config.name, child=child.spec.id)
        return ref

    def _log_exit(self, child: ChildRecord) -> None:
        """Log the child's last exit unless a restart's event carries it (issue 22)."""
        child.exit_unlogged, reason = False, child.last_exit
        if reason is not None:
            fields = {"supervisor": self.config.name, "child": child.spec.id, "reason": reason.describe()}
            log.log(_level(reason), "supervisor.child_exited", **fields)

    def _forget_urn(self, child: ChildRecord) -> None:
        # A child stays addressable by its last ref until it has a new one, so that a
        # dynamic child can be terminated by that ref while it is restarting.
        if child.urn is not None:
            self._by_urn.pop(child.urn, None)
            child.urn = None

    def _stop_children(self, children: list[ChildRecord], deadline: float | None = None) -> None:
        stop_instances(children, self.config.name, deadline)

    def _notify_down(self, key: int, instance: int, reason: ExitReason) -> None:
        self._tell_self(_ChildDown(key, instance, reason))

    def _tell_self(self, message: object) -> None:
        # If the supervisor ended meanwhile, it has already stopped its children.
        try:  # noqa: SIM105 - not contextlib.suppress: on every restart's path (issue 22)
            self.actor_ref.tell(message)
        except ActorDeadError:
            pass

    def _log_start_error(self, child: ChildRecord, error: BaseException) -> None:
        log.error(
            "supervisor.start_error",
            supervisor=self.config.name,
            child=child.spec.id,
            reason=describe_failure(error),
        )

    def _terminate_all(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        children = list(self._children.values())
        for child in children:
            child.cancel_pending()
        deadline = self._lifecycle.shutdown_deadline  # set by a stop with a deadline
        if self.config.dynamic:
            self._stop_children([c for c in children if c.lifecycle is not None], deadline)
        else:
            for child in reversed(children):
                self._stop_children([child], deadline)
        self._children.clear()
        log.info("supervisor.stopped", supervisor=self.config.name)

    # --- exits and restarts ------------------------------------------------------
    def _child_down(self, message: _ChildDown) -> None:
        child = self._children.get(message.key)
        if child is None or child.instance != message.instance or self._stopping:
            return
        reason = message.reason
        child.ref = child.lifecycle = child.monitor_token = None
        child.status = Status.TERMINATED
        child.last_exit = reason
        self._recent_exits.append((child.spec.id, reason))
        backoff = child.spec.backoff
        now = self.config.clock.monotonic()
        if backoff and child.started_mono is not None and now - child.started_mono >= backoff.reset_after:
            child.backoff_attempt = 0
        restart = child.spec.restart
        if restart == Restart.PERMANENT or (restart == Restart.TRANSIENT and reason.is_crash):
            if backoff is None:
                child.exit_unlogged = True  # the restart that follows logs it, see _log_exit
            else:
                self._log_exit(child)
            self._begin_restart(child)
            return
        self._log_exit(child)
        if restart == Restart.TEMPORARY:
            self._remove(child)
            self._maybe_auto_shutdown(child)
        else:  # transient, normal exit
            if self.config.dynamic:
                self._remove(child)  # a dynamic child that is not restarted is forgotten
            self._maybe_auto_shutdown(child)

    def _maybe_auto_shutdown(self, child: ChildRecord) -> None:
        mode = self.config.auto_shutdown
        if not child.spec.significant or mode == AutoShutdown.NEVER:
            return
        if mode == AutoShutdown.ALL_SIGNIFICANT and any(
            c.spec.significant and c.status != Status.TERMINATED for c in self._children.values()
        ):
            return
        log.info("supervisor.auto_shutdown", supervisor=self.config.name, child=child.spec.id)
        self.finish()

    def _group(self, child: ChildRecord) -> list[ChildRecord]:
        strategy = self.config.strategy
        if strategy == Strategy.ONE_FOR_ONE or self.config.dynamic:
            return [child]
        children = list(self._children.values())
        if strategy == Strategy.ONE_FOR_ALL:
            return children
        return children[children.index(child) :]

    def _begin_restart(self, child: ChildRecord) -> None:
        group = self._group(child)
        for sibling in reversed(group):
            if sibling is not child and sibling.lifecycle is not None:
                self._stop_children([sibling])
                if sibling.temporary:
                    self._remove(sibling)
        group = [g for g in group if g.key in self._children]
        for member in group:
            member.cancel_pending()
            member.status = Status.RESTARTING
        self._schedule([m.key for m in group], child, immediately=True)

    def _schedule(self, keys: Iterable[int], trigger: ChildRecord, *, immediately: bool) -> None:
        backoff = trigger.spec.backoff
        if backoff is None and immediately:  # the usual restart: no message is built
            self._restart_round(tuple(keys))
            return
        round_ = _RestartRound(tuple(keys))
        if backoff is not None:
            trigger.backoff_attempt += 1
            delay = backoff.delay(trigger.backoff_attempt)
            trigger.pending = self.config.clock.call_later(delay, lambda: self._tell_self(round_))
        else:
            self._tell_self(round_)

    def _restart_round(self, keys: tuple[int, ...]) -> None:
        group = [
            self._children[k]
            for k in keys
            if k in self._children and self._children[k].status == Status.RESTARTING
        ]
        if not group or self._stopping:
            return
        for member in group:
            member.pending = None
        if not self._window.add(self.config.clock.monotonic()):
            for member in group:
                if member.exit_unlogged:
                    self._log_exit(member)
            self._give_up(group[0])
            return
        for index, member in enumerate(group):
            if self._wait_for_zombie(member, group[index:]):
                return
            try:
                ref = self._start_child(member, restart=True)
            except StartChildError as error:
                if member.exit_unlogged:
                    self._log_exit(member)
                self._log_start_error(member, error)
                self._retry_after_failure(group, index)
                return
            if ref is None:
                # OTP: a restart that returns ignore leaves a static child ``undefined``
                # (terminated, restartable, deletable); a dynamic one is forgotten.
                if self.config.dynamic:
                    self._remove(member)
                else:
                    member.status = Status.TERMINATED
                continue
            member.restarts += 1
            member.exit_unlogged = False
            last = member.last_exit
            log.log(
                logging.INFO if last is None else _level(last),
                "supervisor.child_restarted",
                supervisor=self.config.name,
                child=member.spec.id,
                reason=None if last is None else last.describe(),
                restarts=member.restarts,
            )

    def _wait_for_zombie(self, member: ChildRecord, rest: list[ChildRecord]) -> bool:
        """Defer a restart while a killed instance of the same child still runs."""
        if not member.zombie_alive():
            return False
        assert member.zombie is not None
        round_ = _RestartRound(tuple(m.key for m in rest))
        token = member.zombie.add_monitor(lambda _reason: self._tell_self(round_))
        if token is None:
            member.zombie = None
            return False
        if member.exit_unlogged:
            self._log_exit(member)
        log.warning("supervisor.restart_deferred", supervisor=self.config.name, child=member.spec.id)
        return True

    def _retry_after_failure(self, group: list[ChildRecord], failed: int) -> None:
        if self.config.strategy == Strategy.ONE_FOR_ALL and not self.config.dynamic:
            restarted = [m for m in group[:failed] if m.lifecycle is not None]
            for member in reversed(restarted):
                self._stop_children([member])
            retry = group
        else:
            retry = group[failed:]
        for member in retry:
            member.status = Status.RESTARTING
        self._schedule([m.key for m in retry], group[failed], immediately=False)

    def _give_up(self, child: ChildRecord) -> None:
        log.error(
            "supervisor.max_intensity",
            supervisor=self.config.name,
            child=child.spec.id,
            max_restarts=self.config.max_restarts,
            max_seconds=self.config.max_seconds,
            last_exits=[f"{c}: {r.describe()}" for c, r in self._recent_exits],
        )
        report = self.config.on_give_up
        if report is not None:
            gave_up = GaveUp(
                supervisor=self.config.name,
                child=child.spec.id,
                max_restarts=self.config.max_restarts,
                max_seconds=self.config.max_seconds,
                last_exits=tuple(self._recent_exits),
            )
            try:
                report(gave_up)
            except Exception as exc:  # noqa: BLE001 - a broken hook must not stop the give-up
                log.error("supervisor.on_give_up_failed", supervisor=self.config.name, error=repr(exc))
        self._remove(child)
        self.finish()
