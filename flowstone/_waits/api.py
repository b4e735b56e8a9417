"""The node's API over durable waits: signals, gates and approvals, and waiting for a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._execution.run import load_value
from flowstone._waits import approvals, gates
from flowstone._waits.records import ApprovalInfo, GateInfo
from flowstone._waits.watch import Ended
from flowstone.errors import MaterializationError, OptionError

if TYPE_CHECKING:
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline
    from flowstone._waits.runtime import Waits

__all__ = ["WaitsAPI", "await_run"]

_ENDED = ("completed", "failed", "cancelled")


class WaitsAPI:
    """Mixed into ``Node``: ``signal``, ``gates``, ``cancel_gate``, ``approvals``, ``approve``, ``reject``."""

    _waits: Waits
    id: str

    def signal(self, token: str, payload: Any = None) -> GateInfo:
        """Signal the gate ``token`` names, with ``payload`` (any value the codec encodes).

        Accepting it and moving the gate to ``signaled`` is one transaction: of two racing
        signals exactly one wins. The waiting asset then resumes (here, or on any node on
        the database that has its pipeline).

        Raises:
            SignalError: ``.reason`` is ``malformed``, ``bad_signature``, ``not_found``,
                ``expired``, ``already_signaled``, ``cancelled``, ``too_large`` or
                ``unencodable``; nothing was changed.
        """
        return gates.signal(self._waits, token, payload)

    def gates(self, state: str | None = "waiting") -> list[GateInfo]:
        """The gates in ``state`` (``waiting``, ``signaled``, ``expired``, ``cancelled``;
        ``"all"`` or None: all)."""
        states = _states("gates", state, GATE_STATES)
        records = self._waits.store.select(kind=gates.KIND, states=states)
        return [gates.gate_info(self._waits, record) for record in records]

    def cancel_gate(self, token: str) -> GateInfo:
        """Cancel a waiting gate: its asset ends ``cancelled``; its downstream assets do not run."""
        return gates.cancel_gate(self._waits, token, self.id)

    def approvals(self, state: str | None = "pending") -> list[ApprovalInfo]:
        """The approvals in ``state`` (``pending``, ``approved``, ``rejected``, ``expired``;
        ``"all"`` or None: all)."""
        states = _states("approvals", state, APPROVAL_STATES)
        return [
            approvals.approval_info(r) for r in self._waits.store.select(kind=approvals.KIND, states=states)
        ]

    def approve(self, approval_id: str, by: str, reason: str | None = None) -> ApprovalInfo:
        """Approve a pending approval: its asset is called again with ``ctx.approval`` set.

        Raises:
            ApprovalError: ``reason="not_found"`` or ``"not_pending"``; nothing was changed.
        """
        return approvals.decide(self._waits, approval_id, approve=True, by=by, reason=reason)

    def reject(self, approval_id: str, by: str, reason: str) -> ApprovalInfo:
        """Reject a pending approval: its asset fails with ``ApprovalRejectedError``.

        Raises:
            ApprovalError: ``reason="not_found"`` or ``"not_pending"``; nothing was changed.
        """
        return approvals.decide(self._waits, approval_id, approve=False, by=by, reason=reason)


def await_run(
    waits: Waits,
    services: Services,
    pipeline: Pipeline,
    asset: str,
    partition: partitions.Partition,
    run_id: str,
    timeout: float | None,
) -> Any:
    """Block until the parked run ``run_id`` ends: its target's value, or its error.

    ``TimeoutError`` after ``timeout`` seconds; the run stays waiting.
    """
    key = partitions.serialize(partition)

    def look() -> Ended | None:
        record = services.store.latest(pipeline.name, asset, key)
        if record is not None and record.run_id != run_id:
            return overtaken()
        if record is None or record.status not in _ENDED:
            return None
        if record.status == "completed":
            return load_value(services, pipeline, asset, partition), None
        return None, MaterializationError(
            f"asset {asset!r} (pipeline {pipeline.name!r}, run {run_id}) ended {record.status} after "
            f"waiting: {record.error}; see node.status(...) and the audit log",
            asset=asset,
            partition=partition,
            run_id=run_id,
            attempts=record.attempts,
        )

    def overtaken() -> Ended | None:
        """A later run of the same asset and partition has the latest record (runs that
        waited at once, as processes sharing one scatter): this run's own record says."""
        status = services.store.run_records(run_id).get(asset)
        if status not in _ENDED:
            return None
        if status == "completed":
            return load_value(services, pipeline, asset, partition), None
        return None, MaterializationError(
            f"asset {asset!r} (pipeline {pipeline.name!r}, run {run_id}) ended {status} after "
            "waiting; see node.status(...) and the audit log",
            asset=asset,
            partition=partition,
            run_id=run_id,
        )

    durable = hasattr(type(services.store), "engines")
    ended = waits.watch.wait(run_id, timeout, look, every=0.05 if durable else 0.5)
    if ended is None:
        raise TimeoutError(
            f"asset {asset!r} (pipeline {pipeline.name!r}, run {run_id}) is still waiting after "
            f"{timeout} s; the run stays waiting (see node.gates() / node.approvals()), and ends once "
            "its wait is resolved"
        )
    value, error = ended
    if error is not None:
        raise error
    if value is None:  # resumed here: its value is stored
        return load_value(services, pipeline, asset, partition)
    return value


GATE_STATES = ("waiting", "signaled", "expired", "cancelled")
APPROVAL_STATES = ("pending", "approved", "rejected", "expired")


def _states(what: str, state: str | None, known: tuple[str, ...]) -> tuple[str, ...] | None:
    if state is None or state == "all":
        return None
    if state not in known:
        raise OptionError(f"{what}(state=...) takes one of {known}, 'all' or None; got {state!r}")
    return (state,)
