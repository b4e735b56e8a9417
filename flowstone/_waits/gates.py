"""Signal gates: ``ctx.gate`` writes one, returning it suspends the asset, and
``node.signal(token, payload)`` resumes it (``on_signal`` turns the payload into the value)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowstone import codec
from flowstone._waits.records import ON_TIMEOUT, GateInfo, WaitRecord, check_metadata
from flowstone._waits.runtime import Waits, now, wait_of
from flowstone._waits.suspension import Resumption, Suspension
from flowstone._waits.tokens import verify
from flowstone.errors import EncodeError, GateTimeoutError, OptionError, SignalError, WaitCancelledError
from flowstone.events import GateCancelled, GateCreated, GateSignaled

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context

__all__ = ["Gate", "GateResumption", "cancel_gate", "gate_info", "open_gate", "signal"]

KIND = "gate"
_KEY = re.compile(r"[A-Za-z0-9._:@/-]{1,128}")


@dataclass(frozen=True, slots=True)
class Gate(Suspension):
    """A signal gate (``ctx.gate``): hand ``token`` to whoever will call back, then return
    the gate from the asset to suspend it until ``node.signal(token, payload)``."""

    id: str
    key: str
    token: str
    expires_at: datetime | None

    def persist(self, ctx: Context, waits: Waits) -> str:
        return self.id  # written by ctx.gate already, so an early signal is kept


def _check(key: object, timeout: object, on_timeout: object, max_timeout_retries: object) -> None:
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise SignalError(
            f"gate key {key!r} is not valid: use 1 to 128 characters of A-Z a-z 0-9 . _ : @ / -",
            reason="bad_key",
        )
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise OptionError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
    if on_timeout not in ON_TIMEOUT:
        raise OptionError(f"on_timeout must be one of {ON_TIMEOUT}, got {on_timeout!r}")
    if (
        isinstance(max_timeout_retries, bool)
        or not isinstance(max_timeout_retries, int)
        or max_timeout_retries < 0
    ):
        raise OptionError(f"max_timeout_retries must be an int ≥ 0, got {max_timeout_retries!r}")


def open_gate(
    ctx: Context,
    waits: Waits,
    key: str,
    *,
    timeout: float | None,
    on_timeout: str = "fail",
    max_timeout_retries: int = 3,
    metadata: Mapping[str, Any] | None = None,
) -> Gate:
    """The gate ``key`` of this materialization, written now (the same one if called again;
    a fresh generation when its timeout is retrying it)."""
    _check(key, timeout, on_timeout, max_timeout_retries)
    check_metadata("ctx.gate(metadata=...)", metadata)
    from flowstone import partitions  # noqa: PLC0415 - avoids an import cycle at load

    partition_key = partitions.serialize(ctx.partition)
    at = now()
    existing = waits.store.find(ctx.run_id, ctx.asset, partition_key, key)
    if existing is not None:
        if existing.state == "expired" and existing.resumed:
            renewed = waits.store.renew(existing.id, expires_at=waits.expiry(timeout, at), at=at)
            if renewed is not None:
                waits.emit(GateCreated, renewed)
                existing = renewed
        return _gate(waits, existing)
    record = wait_of(
        ctx,
        KIND,
        key,
        created_at=at,
        expires_at=waits.expiry(timeout, at),
        on_timeout=on_timeout,
        max_timeout_retries=max_timeout_retries,
        metadata=dict(metadata or {}),
    )
    stored = waits.store.create(record)
    if stored.id == record.id:
        waits.emit(GateCreated, stored)
        waits.audit("gate.created", stored, waits.node_id, "create", expires_at=str(stored.expires_at))
    return _gate(waits, stored)


def _gate(waits: Waits, record: WaitRecord) -> Gate:
    return Gate(record.id, record.key, waits.token(record), record.expires_at)


def gate_info(waits: Waits, record: WaitRecord, token: str | None = None) -> GateInfo:
    return GateInfo(
        id=record.id,
        key=record.key,
        token=token or waits.token(record),
        state=record.state,
        run_id=record.run_id,
        pipeline=record.pipeline,
        asset=record.asset,
        partition_key=record.partition_key,
        created_at=record.created_at,
        expires_at=record.expires_at,
        on_timeout=record.on_timeout,
        metadata=record.metadata,
        partition=_partition(record.partition_key),
    )


def _partition(key: str) -> Any:
    from flowstone import partitions  # noqa: PLC0415 - avoids an import cycle at load

    try:
        return partitions.deserialize(key)
    except Exception:  # noqa: BLE001 - a key this version cannot read is shown as stored
        return key


_REFUSED = {
    "signaled": ("already_signaled", "the gate was signalled already (one signal resumes it)"),
    "cancelled": ("cancelled", "the gate was cancelled"),
    "expired": ("expired", "the gate expired"),
}


def _refuse(record: WaitRecord | None, generation: int) -> SignalError:
    if record is None or record.kind != KIND:
        return SignalError("no gate has this token's id (its run was deleted?)", reason="not_found")
    if record.generation != generation:
        return SignalError(
            f"gate {record.key!r} of run {record.run_id} timed out and was retried with a new "
            "token; this one expired",
            reason="expired",
        )
    reason, text = _REFUSED.get(record.state, ("expired", "the gate is no longer waiting"))
    return SignalError(
        f"gate {record.key!r} (asset {record.asset!r}, run {record.run_id}): {text}", reason=reason
    )


def signal(waits: Waits, token: str, payload: Any = None) -> GateInfo:
    """Accept a signal: the gate moves to ``signaled`` in one conditional update."""
    claims = verify(waits.secrets(), token)
    at = now()
    if claims.expires is not None and claims.expires <= at.timestamp():
        raise SignalError("the token's gate expired", reason="expired")
    try:
        encoded = codec.encode(payload, max_bytes=1 << 62)
    except EncodeError as exc:
        raise SignalError(f"the payload cannot be encoded: {exc}", reason="unencodable") from exc
    limit = waits.settings.max_signal_bytes
    if len(encoded) > limit:
        raise SignalError(
            f"the payload is {len(encoded)} bytes encoded, over max_signal_bytes={limit}: send a "
            "reference (a URL, a key) instead of the data",
            reason="too_large",
        )
    audit = waits.audit_entry("gate.signaled", waits.node_id, "signal", bytes=len(encoded))
    record, changed = waits.store.resolve(
        claims.wait_id,
        generation=claims.generation,
        states=("waiting",),
        to="signaled",
        at=at,
        payload=encoded,
        audit=audit,
    )
    if not changed or record is None:
        raise _refuse(record, claims.generation)
    waits.audited(audit, record)
    waits.emit(GateSignaled, record)
    waits.kick(record)
    return gate_info(waits, record, token)


def cancel_gate(waits: Waits, token: str, actor: str | None = None) -> GateInfo:
    """Cancel a waiting gate: its asset ends ``cancelled`` and its downstream does not run."""
    claims = verify(waits.secrets(), token)
    audit = waits.audit_entry("gate.cancelled", actor or waits.node_id, "cancel")
    record, changed = waits.store.resolve(
        claims.wait_id,
        generation=claims.generation,
        states=("waiting",),
        to="cancelled",
        at=now(),
        audit=audit,
    )
    if not changed or record is None:
        raise _refuse(record, claims.generation)
    waits.audited(audit, record)
    waits.emit(GateCancelled, record, actor)
    waits.kick(record)
    return gate_info(waits, record)


@dataclass(frozen=True, slots=True)
class GateResumption(Resumption):
    """A resolved gate: its payload becomes the value, or its timeout or cancellation ends it."""

    record: WaitRecord

    def ends(self, partition: Any) -> BaseException | None:
        record = self.record
        where = {"asset": record.asset, "partition": partition, "run_id": record.run_id}
        if record.state == "signaled":
            return None
        if record.state == "cancelled" or record.on_timeout == "cancel":
            return WaitCancelledError(
                f"gate {record.key!r} of asset {record.asset!r} (run {record.run_id}) was {record.state}: "
                "the asset ends cancelled and its downstream assets do not run; run it again to start over",
                **where,
            )
        if record.on_timeout == "retry" and record.timeout_retries < record.max_timeout_retries:
            return None
        return GateTimeoutError(
            f"gate {record.key!r} of asset {record.asset!r} (run {record.run_id}) expired at "
            f"{record.expires_at} after {record.timeout_retries} timeout retries; give it a longer "
            "timeout (ctx.gate(timeout=...)) or on_timeout='retry', then run it again",
            **where,
        )

    def call(self, asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        record = self.record
        ending = self.ends(ctx.partition)
        if ending is not None:
            raise ending
        if record.state == "signaled":
            payload = None if record.payload is None else codec.decode(record.payload)
            on_signal = asset.options.on_signal
            return payload if on_signal is None else on_signal(ctx, payload, **kwargs)
        return asset.fn(ctx, **kwargs)  # a timeout retry: ctx.gate opens the gate again, with a new token
