"""Starting supervisors, and ``SupervisorRef``: the handle callers use to talk to one."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pykka import ActorDeadError, Timeout

from supervisors._actor import ActorRef
from supervisors._clock import Clock, SystemClock
from supervisors._config import SupervisorConfig
from supervisors._errors import ChildSpecError, SupervisorError, SupervisorTimeoutError
from supervisors._intensity import GaveUp
from supervisors._lifecycle import Lifecycle
from supervisors._names import check_name
from supervisors._reasons import ExitReason
from supervisors._spec import (
    AutoShutdown,
    ChildSpec,
    Strategy,
    _enum_value,
    check_child_specs,
    check_flags,
)
from supervisors._supervisor import Call, SupervisorActor
from supervisors._tree import ChildInfo, TreeNode

__all__ = ["DynamicSupervisor", "Supervisor", "SupervisorRef"]


class SupervisorRef:
    """A handle to a running supervisor; every call is answered by the supervisor's actor.

    Refs of children change when they restart: look them up with ``whereis(id)`` instead
    of keeping one.
    """

    __slots__ = ("_actor", "kind", "name")

    def __init__(self, actor: ActorRef, *, name: str, kind: str) -> None:
        self._actor = actor
        self.name = name
        self.kind = kind

    def __repr__(self) -> str:
        return f"<SupervisorRef {self.kind} {self.name!r} {self._actor.actor_urn}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SupervisorRef) and other._actor.actor_urn == self._actor.actor_urn

    def __hash__(self) -> int:
        return hash(self._actor.actor_urn)

    @property
    def _lifecycle(self) -> Lifecycle:
        return self._actor._lifecycle

    @property
    def actor_urn(self) -> str:
        """The URN of the supervisor's actor."""
        return self._actor.actor_urn

    @property
    def actor_ref(self) -> ActorRef:
        """The pykka ref of the supervisor's own actor."""
        return self._actor

    def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        try:
            return self._actor.ask(Call(method, args), timeout=timeout)
        except ActorDeadError:
            raise SupervisorError(f"supervisor {self.name!r} is not running", code="noproc") from None
        except Timeout:
            raise SupervisorTimeoutError(
                f"supervisor {self.name!r} did not answer {method} within {timeout} s "
                "(it is busy, e.g. in a child's start); try again or raise the timeout"
            ) from None

    # --- children ----------------------------------------------------------------
    def start_child(self, spec: ChildSpec) -> Any:
        """Add and start a child; returns its ref (None if its start ignored).

        If the start function returned ``(ref, info)`` (OTP's ``{ok, Pid, Info}``), so does
        this; ``which_children`` shows the ref alone.
        """
        return self._call("start_child", spec)

    def terminate_child(self, id_or_ref: Any, *, deadline: float | None = None) -> None:
        """Stop a child (by id; by ref under a DynamicSupervisor), keeping its spec if static.

        With ``deadline`` (a ``time.monotonic()`` value), neither the child nor anything
        below it is waited for past that time, whatever its own ``shutdown`` budget.
        """
        self._call("terminate_child", id_or_ref, deadline)

    def restart_child(self, child_id: str) -> Any:
        """Start a terminated static child again; returns its new ref."""
        return self._call("restart_child", child_id)

    def delete_child(self, child_id: str) -> None:
        """Forget the spec of a terminated static child."""
        self._call("delete_child", child_id)

    def get_childspec(self, id_or_ref: Any, *, timeout: float | None = None) -> ChildSpec:
        """The child's spec with every default filled in."""
        spec: ChildSpec = self._call("get_childspec", id_or_ref, timeout=timeout)
        return spec

    def which_children(self, *, timeout: float | None = None) -> list[ChildInfo]:
        """Every child, in start order.

        Every read-only admin call takes a ``timeout`` (seconds): past it, it raises
        ``SupervisorTimeoutError`` (a ``TimeoutError``) instead of waiting behind a busy
        supervisor, so that a health check cannot hang.
        """
        infos: list[ChildInfo] = self._call("which_children", timeout=timeout)
        return infos

    def which_child(self, id_or_ref: Any, *, timeout: float | None = None) -> ChildInfo:
        """One child's info; ``SupervisorError(code="not_found")`` if unknown."""
        info: ChildInfo = self._call("which_child", id_or_ref, timeout=timeout)
        return info

    def count_children(self, *, timeout: float | None = None) -> dict[str, int]:
        """``{"specs", "active", "supervisors", "workers"}`` as OTP counts them."""
        counts: dict[str, int] = self._call("count_children", timeout=timeout)
        return counts

    def whereis(self, child_id: str, *, timeout: float | None = None) -> Any:
        """The child's current ref, or None while it is not running."""
        return self._call("whereis", child_id, timeout=timeout)

    # --- the supervisor itself ---------------------------------------------------
    def is_alive(self) -> bool:
        """False once the supervisor has ended (``exit_reason`` is set before)."""
        return self._actor.is_alive()

    @property
    def exit_reason(self) -> ExitReason | None:
        """``Normal()`` after ``stop()``; ``Shutdown()`` when its parent or its restart
        intensity ended it; None while alive."""
        return self._actor.exit_reason

    def wait_for_exit(self, timeout: float | None = None) -> bool:
        """Block until the supervisor and all its children have ended; False on timeout."""
        return self._actor.wait_for_exit(timeout)

    def stop(self, timeout: float | None = None, *, deadline: float | None = None) -> bool:
        """Stop every child in reverse start order, then the supervisor.

        Returns once every child has stopped or been reported ``Killed``: True if this
        call stopped it, False if it had already ended. Raises ``TimeoutError`` if that
        takes longer than ``timeout``. With ``deadline`` (a ``time.monotonic()`` value),
        no child at any depth is waited for past that time: one still running then is
        reported ``Killed`` and abandoned, as when its own budget runs out.
        """
        self._lifecycle.shutdown_deadline = deadline
        stopped = self._actor.stop(block=False)
        if not self._actor.wait_for_exit(timeout):
            raise TimeoutError(f"supervisor {self.name!r} did not stop within {timeout} s")
        return bool(stopped.get(timeout=timeout))

    def tree(self, timeout: float | None = 5.0) -> TreeNode:
        """A snapshot of this supervisor and everything below it.

        Child supervisors are asked from the calling thread, never from a supervisor, so a
        busy subtree cannot block its parent. A supervisor that does not answer within
        ``timeout`` is shown with ``busy=True`` and no children; the rest is read.
        """
        try:
            config: SupervisorConfig = self._call("config_snapshot", timeout=timeout)
        except SupervisorTimeoutError:
            return TreeNode(kind=self.kind, id=self.name, status="busy", busy=True)
        return self._node(config, self.name, timeout)

    def _node(self, config: SupervisorConfig, node_id: str, timeout: float | None) -> TreeNode:
        children: list[TreeNode] = []
        busy = False
        try:
            snapshot = self._call("snapshot", timeout=timeout)
        except SupervisorTimeoutError:
            snapshot, busy = [], True
        except SupervisorError:
            snapshot = []
        for info, own in snapshot:
            node = own
            if isinstance(info.ref, SupervisorRef) and info.status == "running":
                try:
                    sub = info.ref.tree(timeout)
                except SupervisorError:
                    sub = own
                node = TreeNode(
                    **{
                        **_fields(node),
                        "kind": sub.kind,
                        "strategy": sub.strategy,
                        "busy": sub.busy,
                        "status": "busy" if sub.busy else node.status,
                        "children": sub.children,
                    }
                )
            children.append(node)
        return TreeNode(
            kind="dynamic_supervisor" if config.dynamic else "supervisor",
            id=node_id,
            status="busy" if busy else "running" if self.is_alive() else "terminated",
            strategy=config.strategy.value,
            mailbox=self._actor.actor_inbox.qsize(),  # type: ignore[attr-defined]
            busy=busy,
            children=tuple(children),
        )


def _fields(node: TreeNode) -> dict[str, Any]:
    return {name: getattr(node, name) for name in TreeNode.__dataclass_fields__}


def _launch(config: SupervisorConfig) -> SupervisorRef:
    kind = "dynamic_supervisor" if config.dynamic else "supervisor"
    if config.register is not None:
        # The name hands out a SupervisorRef; built here, not in _names or _supervisor,
        # which this module imports (issue 22: the package's imports run one way).
        wrap = functools.partial(SupervisorRef, name=config.name, kind=kind)
        config = dataclasses.replace(config, wrap=wrap)
    actor_ref: ActorRef = SupervisorActor.start(config)  # type: ignore[assignment]
    error = actor_ref._lifecycle.wait_started()
    if error is not None:
        actor_ref.wait_for_exit()
        raise error
    return SupervisorRef(actor_ref, name=config.name, kind=kind)


class Supervisor:
    """Starts static supervisors (OTP's ``supervisor:start_link``)."""

    @staticmethod
    def start(
        children: Sequence[ChildSpec],
        *,
        strategy: Strategy | str = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        auto_shutdown: AutoShutdown | str = AutoShutdown.NEVER,
        name: str | None = None,
        clock: Clock | None = None,
        register: str | None = None,
        on_give_up: Callable[[GaveUp], None] | None = None,
    ) -> SupervisorRef:
        """Start a supervisor and its children, in order, before returning.

        ``register`` names it process-wide (``supervisors.whereis(register)``) until it
        stops; a name held by a live actor raises ``AlreadyStartedError`` (nothing started).
        ``on_give_up(GaveUp)`` is called (in the supervisor's thread: be quick) when it
        reaches its restart intensity, before it stops its children and exits.

        Raises:
            ChildSpecError: a spec or flag is invalid (nothing was started).
            StartChildError: a child failed to start; the ones already started were
                stopped in reverse order.
        """
        if isinstance(children, Iterable) and not isinstance(children, str | bytes):
            children = tuple(children)  # a generator is read once: here, not by the check
        check_child_specs(children, auto_shutdown=auto_shutdown)
        check_flags(max_restarts, max_seconds)
        config = SupervisorConfig(
            name=name or "supervisor",
            dynamic=False,
            strategy=_enum_value(Strategy, strategy, "invalid_strategy", "strategy"),
            max_restarts=max_restarts,
            max_seconds=float(max_seconds),
            auto_shutdown=_enum_value(AutoShutdown, auto_shutdown, "invalid_auto_shutdown", "auto_shutdown"),
            max_children=None,
            clock=SystemClock() if clock is None else clock,
            specs=tuple(children),
            register=None if register is None else check_name(register),
            on_give_up=on_give_up,
        )
        return _launch(config)


class DynamicSupervisor:
    """Starts dynamic supervisors: one_for_one, children added with ``start_child``."""

    @staticmethod
    def start(
        *,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        max_children: int | None = None,
        name: str | None = None,
        clock: Clock | None = None,
        register: str | None = None,
        extra_arguments: Sequence[Any] = (),
        on_give_up: Callable[[GaveUp], None] | None = None,
    ) -> SupervisorRef:
        """Start an empty dynamic supervisor (``register``, ``on_give_up`` as for
        ``Supervisor.start``).

        ``extra_arguments`` are prepended to every child's start function call, as in
        Elixir: ``spec.start(*extra_arguments)``.
        """
        check_flags(max_restarts, max_seconds)
        if max_children is not None and (not isinstance(max_children, int) or max_children < 0):
            raise ChildSpecError(f"invalid max_children {max_children!r}", code="invalid_max_children")
        config = SupervisorConfig(
            name=name or "dynamic_supervisor",
            dynamic=True,
            strategy=Strategy.ONE_FOR_ONE,
            max_restarts=max_restarts,
            max_seconds=float(max_seconds),
            auto_shutdown=AutoShutdown.NEVER,
            max_children=max_children,
            clock=SystemClock() if clock is None else clock,
            register=None if register is None else check_name(register),
            extra_arguments=_arguments(extra_arguments),
            on_give_up=on_give_up,
        )
        return _launch(config)


def _arguments(extra: Sequence[Any]) -> tuple[Any, ...]:
    if isinstance(extra, str | bytes) or not isinstance(extra, Sequence):
        raise ChildSpecError(
            f"extra_arguments must be a tuple or list, got {extra!r}", code="invalid_extra_arguments"
        )
    return tuple(extra)
