"""Admin calls of a supervisor (OTP's ``start_child``, ``terminate_child``, ...).

A mixin of ``SupervisorActor``: these methods run inside the supervisor's thread, reached
through ``Call`` messages sent by ``SupervisorRef``, and return immutable snapshots only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supervisors._children import NO_INFO, ChildRecord, urn_of
from supervisors._config import SupervisorConfig
from supervisors._errors import AlreadyStartedError, ChildSpecError, StartChildError, SupervisorError
from supervisors._spec import ChildSpec, ChildType, Status, Strategy, check_child_specs
from supervisors._tree import ChildInfo, TreeNode, iso_time

__all__ = ["AdminCalls"]


class AdminCalls:
    """The ``call_<name>`` methods that ``SupervisorRef`` reaches by name."""

    config: SupervisorConfig
    _children: dict[int, ChildRecord]
    _by_id: dict[str, int]
    _by_urn: dict[str, int]

    if TYPE_CHECKING:  # provided by SupervisorActor

        def _add(self, spec: ChildSpec) -> ChildRecord: ...
        def _remove(self, child: ChildRecord) -> None: ...
        def _start_child(self, child: ChildRecord) -> Any: ...
        def _stop_children(self, children: list[ChildRecord], deadline: float | None = None) -> None: ...
        def _log_start_error(self, child: ChildRecord, error: BaseException) -> None: ...

    def _find(self, id_or_ref: Any) -> ChildRecord:
        if isinstance(id_or_ref, str):
            if self.config.dynamic:
                for child in self._children.values():
                    if child.spec.id == id_or_ref:
                        return child
            else:
                key = self._by_id.get(id_or_ref)
                if key is not None:
                    return self._children[key]
        else:
            urn = urn_of(id_or_ref)
            key = self._by_urn.get(urn) if urn is not None else None
            if key is not None and self.config.dynamic:
                return self._children[key]
        raise SupervisorError(f"{self.config.name}: no child {id_or_ref!r}", code="not_found")

    def call_start_child(self, spec: ChildSpec) -> Any:
        if not isinstance(spec, ChildSpec):
            raise ChildSpecError(f"not a ChildSpec: {spec!r}", code="invalid_child_spec")
        limit = self.config.max_children
        if self.config.dynamic:
            if spec.significant:
                raise ChildSpecError(
                    "a DynamicSupervisor takes no significant children", code="invalid_significant"
                )
            if limit is not None and len(self._children) >= limit:
                raise SupervisorError(
                    f"{self.config.name}: max_children ({limit}) reached", code="max_children"
                )
        else:
            check_child_specs([spec], auto_shutdown=self.config.auto_shutdown)
            existing = self._by_id.get(spec.id)
            if existing is not None:
                child = self._children[existing]
                if child.running:
                    raise SupervisorError(f"child {spec.id!r} is already started", code="already_started")
                raise SupervisorError(f"child {spec.id!r} is already present", code="already_present")
        child = self._add(spec)
        try:
            ref = self._start_child(child)
        except StartChildError as error:
            self._log_start_error(child, error)
            self._remove(child)
            if isinstance(error.__cause__, AlreadyStartedError):
                raise error.__cause__ from None  # OTP answers {error, {already_started, Pid}}
            raise
        info = child.info
        if ref is None and (child.temporary or self.config.dynamic):
            self._remove(child)
        return ref if info is NO_INFO else (ref, info)

    def call_terminate_child(self, id_or_ref: Any, deadline: float | None = None) -> None:
        if self.config.dynamic == isinstance(id_or_ref, str):
            what = "a ref" if self.config.dynamic else "an id"
            raise SupervisorError(f"{self.config.name}: children are addressed by {what}", code="not_found")
        child = self._find(id_or_ref)
        if child.status == Status.RESTARTING:
            self._cancel_waiting_group(child)
        child.cancel_pending()
        if child.lifecycle is not None:
            self._stop_children([child], deadline)
        child.status = Status.TERMINATED
        if child.temporary or self.config.dynamic:
            self._remove(child)

    def _cancel_waiting_group(self, child: ChildRecord) -> None:
        """Terminating a child in a restart loop also ends the wait of the siblings that
        were to restart with it (OTP's hanging_restart_loop_rest_for_one)."""
        children = list(self._children.values())
        if self.config.dynamic or self.config.strategy == Strategy.ONE_FOR_ONE:
            group: list[ChildRecord] = []
        elif self.config.strategy == Strategy.ONE_FOR_ALL:
            group = children
        else:
            group = children[children.index(child) :]
        for member in group:
            if member is not child and member.status == Status.RESTARTING:
                member.cancel_pending()
                member.status = Status.TERMINATED

    def call_restart_child(self, child_id: str) -> Any:
        self._static_only("restart_child")
        child = self._find(child_id)
        if child.status != Status.TERMINATED:
            raise SupervisorError(f"child {child_id!r} is {child.status.value}", code=child.status.value)
        if child.zombie_alive():
            raise SupervisorError(
                f"child {child_id!r}: its killed instance is still running; try again later",
                code="running",
            )
        return self._start_child(child)

    def call_delete_child(self, child_id: str) -> None:
        self._static_only("delete_child")
        child = self._find(child_id)
        if child.status != Status.TERMINATED:
            raise SupervisorError(f"child {child_id!r} is {child.status.value}", code=child.status.value)
        self._remove(child)

    def _static_only(self, call: str) -> None:
        if self.config.dynamic:
            raise SupervisorError(
                f"{call} is not supported by a DynamicSupervisor; use start_child",
                code="not_supported",
            )

    def call_get_childspec(self, id_or_ref: Any) -> ChildSpec:
        return self._find(id_or_ref).spec

    def call_whereis(self, child_id: str) -> Any:
        try:
            return self._find(child_id).ref
        except SupervisorError:
            return None

    def call_which_children(self) -> list[ChildInfo]:
        return [_info(child) for child in self._children.values()]

    def call_which_child(self, id_or_ref: Any) -> ChildInfo:
        return _info(self._find(id_or_ref))

    def call_count_children(self) -> dict[str, int]:
        children = self._children.values()
        supervisors = sum(1 for c in children if c.spec.type == ChildType.SUPERVISOR)
        return {
            "specs": len(self._children),
            "active": sum(1 for c in children if c.running),
            "supervisors": supervisors,
            "workers": len(self._children) - supervisors,
        }

    def call_config_snapshot(self) -> SupervisorConfig:
        return self.config

    def call_snapshot(self) -> list[tuple[ChildInfo, TreeNode]]:
        """Each child's info and its own node (without grandchildren), built here."""
        return [(_info(c), _node(c)) for c in self._children.values()]


def _info(child: ChildRecord) -> ChildInfo:
    return ChildInfo(
        id=child.spec.id,
        ref=child.ref,
        type=child.spec.type.value if isinstance(child.spec.type, ChildType) else child.spec.type,
        status=child.status.value,
        restarts=child.restarts,
        last_exit=child.last_exit,
    )


def _node(child: ChildRecord) -> TreeNode:
    inbox = getattr(child.ref, "actor_inbox", None)
    last = child.last_exit
    return TreeNode(
        kind="worker" if child.spec.type == ChildType.WORKER else "supervisor",
        id=child.spec.id,
        status=child.status.value,
        restarts=child.restarts,
        started_at=iso_time(child.started_at) if child.running else None,
        last_exit=last.describe() if last is not None else None,
        last_exit_traceback=last.traceback_text() if last is not None else None,
        mailbox=inbox.qsize() if inbox is not None and child.running else 0,
    )
