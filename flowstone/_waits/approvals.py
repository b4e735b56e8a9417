"""Approvals: an asset returns ``fs.RequestApproval``; a person approves (the asset is
called again with ``ctx.approval`` set) or rejects it (the asset fails)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowstone._waits.records import ON_TIMEOUT, ApprovalDecision, ApprovalInfo, WaitRecord, check_metadata
from flowstone._waits.runtime import Waits, now, wait_of
from flowstone._waits.suspension import Resumption, Suspension
from flowstone.errors import (
    ApprovalError,
    ApprovalRejectedError,
    GateTimeoutError,
    OptionError,
    WaitCancelledError,
)
from flowstone.events import ApprovalApproved, ApprovalRejected, ApprovalRequested

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context

__all__ = ["ApprovalResumption", "RequestApproval", "approval_info", "decide"]

KIND = "approval"


@dataclass(frozen=True, slots=True)
class RequestApproval(Suspension):
    """Return it from an asset to wait until a person approves or rejects.

    Once approved the asset's function is called again, with ``ctx.approval`` set (who,
    why, when); once rejected it fails with ``fs.ApprovalRejectedError``. With
    ``on_timeout="retry"`` an approval that expires undecided is asked again, at most
    ``max_timeout_retries`` times; then the asset fails with ``fs.GateTimeoutError``.
    """

    message: str
    timeout: float | None = field(default=None, kw_only=True)
    on_timeout: str = field(default="fail", kw_only=True)
    context: Mapping[str, Any] | None = field(default=None, kw_only=True)
    max_timeout_retries: int = field(default=3, kw_only=True)
    # How many approvals of this materialization expired before this one (set on a retry).
    _retries: int = field(default=0, kw_only=True, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.message, str) or not self.message:
            raise OptionError(f"an approval needs a message (a non-empty str), got {self.message!r}")
        timeout = self.timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise OptionError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
        if self.on_timeout not in ON_TIMEOUT:
            raise OptionError(f"on_timeout must be one of {ON_TIMEOUT}, got {self.on_timeout!r}")
        check_metadata("RequestApproval(context=...)", self.context)
        retries = self.max_timeout_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise OptionError(f"max_timeout_retries must be an int ≥ 0, got {retries!r}")

    def persist(self, ctx: Context, waits: Waits) -> str:
        at = now()
        record = wait_of(
            ctx,
            KIND,
            f"approval-{uuid.uuid4().hex[:12]}",
            state="pending",
            created_at=at,
            expires_at=waits.expiry(self.timeout, at),
            on_timeout=self.on_timeout,
            max_timeout_retries=self.max_timeout_retries,
            timeout_retries=self._retries,
            metadata=dict(self.context or {}),
            message=self.message,
        )
        stored = waits.store.create(record)
        waits.emit(ApprovalRequested, stored)
        waits.audit("approval.requested", stored, waits.node_id, "request", message=self.message)
        return stored.id


def approval_info(record: WaitRecord) -> ApprovalInfo:
    return ApprovalInfo(
        id=record.id,
        run_id=record.run_id,
        pipeline=record.pipeline,
        asset=record.asset,
        partition=_partition(record.partition_key),
        message=record.message or "",
        context=record.metadata,
        requested_at=record.created_at,
        timeout_at=record.expires_at,
        state=record.state,
        decided_by=record.decided_by,
        reason=record.reason,
        decided_at=record.decided_at,
        partition_key=record.partition_key,
    )


def _partition(key: str) -> Any:
    from flowstone import partitions  # noqa: PLC0415 - avoids an import cycle at load

    try:
        return partitions.deserialize(key)
    except Exception:  # noqa: BLE001 - a key this version cannot read is shown as stored
        return key


def decide(waits: Waits, approval_id: str, *, approve: bool, by: str, reason: str | None) -> ApprovalInfo:
    """Approve or reject a pending approval (one conditional update); ``ApprovalError`` otherwise."""
    if not isinstance(by, str) or not by.strip():
        raise OptionError("an approval is decided by someone: pass by='name'")
    if not approve and (not isinstance(reason, str) or not reason.strip()):
        raise OptionError("a rejection needs a reason: pass reason='...'")
    to = "approved" if approve else "rejected"
    audit = waits.audit_entry(f"approval.{to}", by, "approve" if approve else "reject", reason=reason)
    record, changed = waits.store.resolve(
        approval_id, generation=None, states=("pending",), to=to, at=now(), by=by, reason=reason, audit=audit
    )
    if record is None or record.kind != KIND:
        raise ApprovalError(f"no approval has id {approval_id!r}", reason="not_found")
    if not changed:
        raise ApprovalError(
            f"approval {approval_id} (asset {record.asset!r}, run {record.run_id}) is {record.state}, "
            "not pending: it cannot be decided again",
            reason="not_pending",
        )
    waits.audited(audit, record)
    waits.emit(ApprovalApproved if approve else ApprovalRejected, record, by)
    waits.kick(record)
    return approval_info(record)


@dataclass(frozen=True, slots=True)
class ApprovalResumption(Resumption):
    """A decided approval: call the asset again with ``ctx.approval``, or end it."""

    record: WaitRecord

    def ends(self, partition: Any) -> BaseException | None:
        record = self.record
        where = {"asset": record.asset, "partition": partition, "run_id": record.run_id}
        if record.state == "approved":
            return None
        if record.state == "rejected":
            return ApprovalRejectedError(
                f"approval {record.id} of asset {record.asset!r} (run {record.run_id}) was rejected by "
                f"{record.decided_by!r}: {record.reason}; its downstream assets do not run",
                by=record.decided_by or "",
                reason=record.reason,
                **where,
            )
        if record.on_timeout == "cancel":
            return WaitCancelledError(
                f"approval {record.id} of asset {record.asset!r} (run {record.run_id}) expired "
                "undecided (on_timeout='cancel'): the asset ends cancelled",
                **where,
            )
        if record.on_timeout == "retry" and record.timeout_retries < record.max_timeout_retries:
            return None
        return GateTimeoutError(
            f"approval {record.id} of asset {record.asset!r} (run {record.run_id}) expired undecided "
            f"at {record.expires_at} after {record.timeout_retries} timeout retries; run it again, or "
            "give it a longer timeout",
            **where,
        )

    def call(self, asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        record = self.record
        ending = self.ends(ctx.partition)
        if ending is not None:
            raise ending
        if record.state == "approved":
            at = record.decided_at or now()
            decision = ApprovalDecision(record.id, record.decided_by or "", record.reason, at)
            return asset.fn(dataclasses.replace(ctx, approval=decision), **kwargs)
        # Expired with on_timeout="retry": asks again, counting the retry.
        value = asset.fn(ctx, **kwargs)
        if isinstance(value, RequestApproval):
            value = dataclasses.replace(value, _retries=record.timeout_retries + 1)
        return value
