"""The wait store: where durable waits live, and ``MemoryWaits`` for a node without a database.

Every method is one transaction (one lock in memory) and every state change is
conditional, so that two racing signals, a signal racing a timeout, or two nodes firing
one timeout change a wait once: the loser sees nothing changed.
"""

from __future__ import annotations

import secrets as _random
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from flowstone._waits.records import OPEN, WaitRecord

__all__ = ["MemoryWaits", "WaitStore"]


class WaitStore(Protocol):
    """What the waits machinery asks of its store."""

    def create(self, record: WaitRecord) -> WaitRecord:
        """Insert ``record``; the one already there if its (run, asset, partition, key) exists."""

    def get(self, wait_id: str) -> WaitRecord | None: ...

    def find(self, run_id: str, asset: str, partition_key: str, key: str) -> WaitRecord | None: ...

    def renew(self, wait_id: str, *, expires_at: datetime | None, at: datetime) -> WaitRecord | None:
        """A wait expired and claimed for a retry becomes open again (generation + 1,
        ``timeout_retries`` + 1, not armed, not resumed); None if it was not so."""

    def arm(self, wait_id: str, resume: Mapping[str, Any]) -> tuple[WaitRecord, bool]:
        """The materialization suspends on the wait: record what resumes it. True with it
        when the wait was resolved already: then the caller took its continuation."""

    def resolve(
        self,
        wait_id: str,
        *,
        generation: int | None,
        states: Sequence[str],
        to: str,
        at: datetime,
        payload: bytes | None = None,
        by: str | None = None,
        reason: str | None = None,
    ) -> tuple[WaitRecord | None, bool]:
        """Move the wait from one of ``states`` to ``to``; the row after, and whether it changed."""

    def claim(self, wait_id: str) -> WaitRecord | None:
        """Take the continuation of an armed, resolved wait not taken yet (exactly one caller does)."""

    def release(self, wait_id: str) -> None:
        """Give back a claim whose continuation did not run: another node may take it."""

    def select(
        self, *, kind: str | None = None, states: Iterable[str] | None = None, run_id: str | None = None
    ) -> list[WaitRecord]: ...

    def resumable(self, limit: int) -> list[WaitRecord]:
        """Armed, resolved waits whose continuation nobody took."""

    def due(self, now: datetime, limit: int) -> list[WaitRecord]:
        """Open waits whose timeout has passed."""

    def secret(self) -> bytes:
        """The generated signal secret (created once)."""

    def counts(self, overdue_before: datetime) -> tuple[int, int]:
        """(open waits, open waits whose timeout passed before ``overdue_before``)."""


class MemoryWaits:
    """Waits of a node without a database, behind one lock; nothing survives the node."""

    def __init__(self, *, max_ended: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, WaitRecord] = {}
        self._keys: dict[tuple[str, str, str, str], str] = {}
        self._secret = _random.token_bytes(32)
        self._max_ended = max_ended

    def secret(self) -> bytes:
        return self._secret

    @staticmethod
    def _key(record: WaitRecord) -> tuple[str, str, str, str]:
        return (record.run_id, record.asset, record.partition_key, record.key)

    def create(self, record: WaitRecord) -> WaitRecord:
        with self._lock:
            existing = self._keys.get(self._key(record))
            if existing is not None:
                return self._rows[existing]
            self._rows[record.id] = record
            self._keys[self._key(record)] = record.id
            if len(self._rows) > 2 * self._max_ended:
                self._prune()
            return record

    def get(self, wait_id: str) -> WaitRecord | None:
        with self._lock:
            return self._rows.get(wait_id)

    def find(self, run_id: str, asset: str, partition_key: str, key: str) -> WaitRecord | None:
        with self._lock:
            found = self._keys.get((run_id, asset, partition_key, key))
            return None if found is None else self._rows[found]

    def _update(self, wait_id: str, **changes: Any) -> WaitRecord:
        record = replace(self._rows[wait_id], **changes)
        self._rows[wait_id] = record
        return record

    def renew(self, wait_id: str, *, expires_at: datetime | None, at: datetime) -> WaitRecord | None:
        with self._lock:
            row = self._rows.get(wait_id)
            if row is None or row.state != "expired" or not row.resumed:
                return None
            return self._update(
                wait_id,
                state="waiting",
                armed=False,
                resumed=False,
                generation=row.generation + 1,
                timeout_retries=row.timeout_retries + 1,
                expires_at=expires_at,
                created_at=at,
            )

    def arm(self, wait_id: str, resume: Mapping[str, Any]) -> tuple[WaitRecord, bool]:
        with self._lock:
            row = self._update(wait_id, armed=True, resume=dict(resume))
            if row.open or row.resumed:
                return row, False
            return self._update(wait_id, resumed=True), True

    def resolve(
        self,
        wait_id: str,
        *,
        generation: int | None,
        states: Sequence[str],
        to: str,
        at: datetime,
        payload: bytes | None = None,
        by: str | None = None,
        reason: str | None = None,
    ) -> tuple[WaitRecord | None, bool]:
        with self._lock:
            row = self._rows.get(wait_id)
            if row is None:
                return None, False
            if row.state not in states or (generation is not None and row.generation != generation):
                return row, False
            changes: dict[str, Any] = {"state": to, "decided_at": at}
            if payload is not None:
                changes["payload"] = payload
            if by is not None:
                changes["decided_by"] = by
            if reason is not None:
                changes["reason"] = reason
            return self._update(wait_id, **changes), True

    def claim(self, wait_id: str) -> WaitRecord | None:
        with self._lock:
            row = self._rows.get(wait_id)
            if row is None or not row.armed or row.resumed or row.open:
                return None
            return self._update(wait_id, resumed=True)

    def release(self, wait_id: str) -> None:
        with self._lock:
            if wait_id in self._rows:
                self._update(wait_id, resumed=False)

    def select(
        self, *, kind: str | None = None, states: Iterable[str] | None = None, run_id: str | None = None
    ) -> list[WaitRecord]:
        wanted = None if states is None else set(states)
        with self._lock:
            rows = list(self._rows.values())
        return sorted(
            (
                r
                for r in rows
                if (kind is None or r.kind == kind)
                and (wanted is None or r.state in wanted)
                and (run_id is None or r.run_id == run_id)
            ),
            key=lambda r: r.created_at,
        )

    def resumable(self, limit: int) -> list[WaitRecord]:
        with self._lock:
            found = [r for r in self._rows.values() if r.armed and not r.resumed and r.state not in OPEN]
        return found[:limit]

    def due(self, now: datetime, limit: int) -> list[WaitRecord]:
        with self._lock:
            found = [
                r for r in self._rows.values() if r.open and r.expires_at is not None and r.expires_at <= now
            ]
        return sorted(found, key=lambda r: r.expires_at or now)[:limit]

    def counts(self, overdue_before: datetime) -> tuple[int, int]:
        with self._lock:
            rows = [r for r in self._rows.values() if r.open]
        overdue = sum(1 for r in rows if r.expires_at is not None and r.expires_at < overdue_before)
        return len(rows), overdue

    def _prune(self) -> None:
        """Forget the oldest ended waits beyond ``max_ended`` (the lock held): a node
        without a database keeps every open wait, and only so many ended ones."""
        ended = [r for r in self._rows.values() if not r.open and (r.resumed or not r.armed)]
        for row in sorted(ended, key=lambda r: r.created_at)[: len(ended) - self._max_ended]:
            del self._rows[row.id]
            self._keys.pop(self._key(row), None)
