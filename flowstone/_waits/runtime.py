"""``Waits``: one node's durable-wait machinery (its store, secrets, events and audit).

It holds no per-wait state: everything about a wait is in the wait store. The node
builds one and binds it to the node's services once they exist (``bind``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from flowstone._ids import new_id
from flowstone._store.records import AuditEntry
from flowstone._waits.records import WaitRecord
from flowstone._waits.store import Audit, MemoryWaits, WaitStore
from flowstone._waits.tokens import Secrets, TokenClaims, as_secret, sign
from flowstone._waits.watch import RunWatch
from flowstone.events import WaitEvent
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._context import Context
    from flowstone._node.services import Services

__all__ = [
    "DEFAULT_MAX_SIGNAL_BYTES",
    "WaitSettings",
    "Waits",
    "new_wait_id",
    "now",
    "wait_of",
    "wait_store_for",
]

log = get_logger("flowstone")

DEFAULT_MAX_SIGNAL_BYTES = 1024 * 1024


def now() -> datetime:
    return datetime.now(UTC)


def new_wait_id() -> str:
    return new_id()


def wait_of(ctx: Context, kind: str, key: str, **fields: Any) -> WaitRecord:
    """A new wait of the materialization ``ctx`` describes (``fields``: state, timeout, ...)."""
    from flowstone import partitions  # noqa: PLC0415 - avoids an import cycle at load

    fields.setdefault("state", "waiting")
    fields.setdefault("created_at", now())
    return WaitRecord(
        id=new_wait_id(),
        kind=kind,
        key=key,
        run_id=ctx.run_id,
        pipeline=ctx.pipeline,
        asset=ctx.asset,
        partition_key=partitions.serialize(ctx.partition),
        attempt=ctx.attempt,
        **fields,
    )


def wait_store_for(store: object) -> WaitStore:
    """The database's waits for a SQL store; a memory store's (or a test double's) in memory."""
    from flowstone._store.memory import MemoryStore  # noqa: PLC0415

    if not isinstance(store, MemoryStore) and hasattr(type(store), "engines") and hasattr(store, "values"):
        from flowstone._waits.sql import SQLWaits  # noqa: PLC0415 - SQLAlchemy loads lazily

        return SQLWaits(store)
    return MemoryWaits()


class Offers(Protocol):
    """What the waits hand a resolved wait to: the node's ``resume.Resumer``, which imports
    this module (so it is described here, not imported)."""

    def offer(self, record: WaitRecord, *, imports: bool = False) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitSettings:
    """The node options about waits (from ``fs.start``)."""

    signal_secret: str | bytes | None = None
    previous_signal_secrets: Sequence[str | bytes] = ()
    max_signal_bytes: int = DEFAULT_MAX_SIGNAL_BYTES
    wait_tick: float = 0.5  # seconds between looks for due timeouts and resumable waits


class Waits:
    """One node's waits; every method is safe from any thread."""

    def __init__(self, store: WaitStore, settings: WaitSettings) -> None:
        self.store = store
        self.settings = settings
        self._secrets: Secrets | None = None
        self._lock = threading.Lock()
        self.services: Services | None = None
        self.records: Any = None  # the store to audit to without services (the CLI's)
        self.resumer: Offers | None = None
        self.watch = RunWatch()  # the outcomes of runs resumed here, for node.run

    def bind(self, services: Services, resumer: Offers) -> None:
        self.services = services
        self.resumer = resumer

    @property
    def node_id(self) -> str:
        return "unbound" if self.services is None else self.services.node_id

    # --- secrets and tokens ------------------------------------------------------------
    def secrets(self) -> Secrets:
        """The current secret and the previous ones; never a default."""
        with self._lock:
            if self._secrets is None:
                configured = self.settings.signal_secret or os.environ.get("FLOWSTONE_SIGNAL_SECRET") or None
                current = as_secret(configured) if configured else self.store.secret()
                previous = tuple(as_secret(s) for s in self.settings.previous_signal_secrets)
                self._secrets = Secrets(current, previous)
            return self._secrets

    def token(self, record: WaitRecord) -> str:
        expires = None if record.expires_at is None else record.expires_at.timestamp()
        return sign(self.secrets(), TokenClaims(record.id, record.generation, expires))

    @staticmethod
    def expiry(timeout: float | None, at: datetime) -> datetime | None:
        return None if timeout is None else at + timedelta(seconds=timeout)

    # --- events and audit --------------------------------------------------------------
    def emit(self, event_type: type[WaitEvent], record: WaitRecord, actor: str | None = None) -> None:
        services = self.services
        if services is None or not services.events.active:
            return
        services.events.emit(
            event_type(
                record.id,
                record.pipeline,
                record.asset,
                record.partition_key,
                record.run_id,
                record.key,
                actor or services.node_id,
            )
        )

    @staticmethod
    def audit_entry(event_type: str, actor: str, action: str, **details: Any) -> Audit:
        """The audit entry of a change, made from the wait's row after it."""

        def entry(record: WaitRecord) -> AuditEntry:
            return AuditEntry(
                now(),
                event_type,
                actor,
                f"{record.pipeline}/{record.asset}/{record.partition_key}",
                action,
                {"run_id": record.run_id, "wait_id": record.id, "key": record.key, **details},
            )

        return entry

    def audited(self, audit: Audit, record: WaitRecord) -> None:
        """Write ``audit`` for a change ``resolve`` made, unless the wait store did."""
        if not self.store.audits_in_transaction:
            self._write_audit(audit(record))

    def audit(self, event_type: str, record: WaitRecord, actor: str, action: str, **details: Any) -> None:
        self._write_audit(self.audit_entry(event_type, actor, action, **details)(record))

    def _write_audit(self, entry: AuditEntry) -> None:
        store = self.services.store if self.services is not None else self.records
        if store is None:
            return
        record_id = entry.details.get("wait_id")
        try:
            store.audit(entry)
        except Exception as exc:  # noqa: BLE001 - the change is committed; its audit line is logged
            log.error("waits.audit_failed", wait_id=record_id, error=f"{type(exc).__name__}: {exc}")

    def kick(self, record: WaitRecord) -> None:
        """A wait was resolved here: resume it now if this node can."""
        if self.resumer is not None and record.armed and not record.resumed:
            self.resumer.offer(record)
