"""``SQLWaits``: the wait store in the node's database (``flowstone_waits``).

Every change is one conditional ``UPDATE`` in one transaction: in PostgreSQL the second
of two racing updates waits for the first's row lock and then re-checks its ``WHERE``,
in SQLite writers take turns; either way exactly one of them changes the row.
"""

from __future__ import annotations

import json
import secrets as _random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, case, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from flowstone._store.sql.history import aware
from flowstone._store.sql.schema import settings, waits
from flowstone._waits.records import OPEN, WaitRecord

__all__ = ["NOTIFY_WAITS", "SQLWaits"]

W = waits
NOTIFY_WAITS = "flowstone_waits"  # PostgreSQL channel: a wait became resumable
_SECRET = "signal_secret"


def _record(row: Row[Any]) -> WaitRecord:
    return WaitRecord(
        id=row.id,
        kind=row.kind,
        key=row.wait_key,
        run_id=row.run_id,
        pipeline=row.pipeline,
        asset=row.asset,
        partition_key=row.partition_key,
        attempt=row.attempt,
        state=row.state,
        created_at=aware(row.created_at),  # type: ignore[arg-type]
        armed=bool(row.armed),
        resumed=bool(row.resumed),
        generation=row.generation,
        expires_at=aware(row.expires_at),
        on_timeout=row.on_timeout,
        max_timeout_retries=row.max_timeout_retries,
        timeout_retries=row.timeout_retries,
        payload=row.payload,
        metadata=json.loads(row.metadata or "{}"),
        message=row.message,
        decided_by=row.decided_by,
        reason=row.reason,
        decided_at=aware(row.decided_at),
        resume=None if row.resume is None else json.loads(row.resume),
    )


class SQLWaits:
    """Waits kept in the database of ``store`` (an ``SQLStore``)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    @property
    def postgres(self) -> bool:
        return bool(self._store.engines.dialect == "postgresql")

    def _insert(self) -> Any:
        return (postgresql if self.postgres else sqlite).insert

    def _notify(self, c: Connection, wait_id: str) -> None:
        if self.postgres:
            c.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": NOTIFY_WAITS, "payload": wait_id}
            )

    def secret(self) -> bytes:
        with self._store._write("read the signal secret from") as c:
            generated = _random.token_hex(32)
            c.execute(
                self._insert()(settings)
                .values(name=_SECRET, value=generated)
                .on_conflict_do_nothing(index_elements=[settings.c.name])
            )
            value = c.execute(select(settings.c.value).where(settings.c.name == _SECRET)).scalar_one()
        return bytes.fromhex(value)

    def create(self, record: WaitRecord) -> WaitRecord:
        row = {
            "id": record.id,
            "kind": record.kind,
            "wait_key": record.key,
            "run_id": record.run_id,
            "pipeline": record.pipeline,
            "asset": record.asset,
            "partition_key": record.partition_key,
            "attempt": record.attempt,
            "state": record.state,
            "armed": int(record.armed),
            "resumed": int(record.resumed),
            "generation": record.generation,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
            "on_timeout": record.on_timeout,
            "max_timeout_retries": record.max_timeout_retries,
            "timeout_retries": record.timeout_retries,
            "payload": record.payload,
            "metadata": json.dumps(dict(record.metadata), default=str, sort_keys=True),
            "message": record.message,
            "resume": None if record.resume is None else json.dumps(dict(record.resume), sort_keys=True),
        }
        unique = [W.c.run_id, W.c.asset, W.c.partition_key, W.c.wait_key]
        with self._store._write("record a wait in") as c:
            c.execute(self._insert()(W).values(**row).on_conflict_do_nothing(index_elements=unique))
            found = c.execute(
                select(W).where(
                    W.c.run_id == record.run_id,
                    W.c.asset == record.asset,
                    W.c.partition_key == record.partition_key,
                    W.c.wait_key == record.key,
                )
            ).one()
        return _record(found)

    def get(self, wait_id: str) -> WaitRecord | None:
        with self._store._read("read a wait from") as c:
            row = c.execute(select(W).where(W.c.id == wait_id)).first()
        return None if row is None else _record(row)

    def find(self, run_id: str, asset: str, partition_key: str, key: str) -> WaitRecord | None:
        with self._store._read("read a wait from") as c:
            row = c.execute(
                select(W).where(
                    W.c.run_id == run_id,
                    W.c.asset == asset,
                    W.c.partition_key == partition_key,
                    W.c.wait_key == key,
                )
            ).first()
        return None if row is None else _record(row)

    @staticmethod
    def _row(c: Connection, wait_id: str) -> WaitRecord:
        return _record(c.execute(select(W).where(W.c.id == wait_id)).one())

    def renew(self, wait_id: str, *, expires_at: datetime | None, at: datetime) -> WaitRecord | None:
        with self._store._write("renew a wait in") as c:
            changed = c.execute(
                update(W)
                .where(W.c.id == wait_id, W.c.state == "expired", W.c.resumed == 1)
                .values(
                    state="waiting",
                    armed=0,
                    resumed=0,
                    generation=W.c.generation + 1,
                    timeout_retries=W.c.timeout_retries + 1,
                    expires_at=expires_at,
                    created_at=at,
                    decided_at=None,
                )
            ).rowcount
            return self._row(c, wait_id) if changed else None

    def arm(self, wait_id: str, resume: Mapping[str, Any]) -> tuple[WaitRecord, bool]:
        with self._store._write("suspend on a wait in") as c:
            c.execute(
                update(W)
                .where(W.c.id == wait_id)
                .values(armed=1, resume=json.dumps(dict(resume), sort_keys=True))
            )
            taken = c.execute(
                update(W).where(W.c.id == wait_id, W.c.resumed == 0, W.c.state.not_in(OPEN)).values(resumed=1)
            ).rowcount
            return self._row(c, wait_id), bool(taken)

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
        changes: dict[str, Any] = {"state": to, "decided_at": at}
        if payload is not None:
            changes["payload"] = payload
        if by is not None:
            changes["decided_by"] = by
        if reason is not None:
            changes["reason"] = reason
        where = [W.c.id == wait_id, W.c.state.in_(list(states))]
        if generation is not None:
            where.append(W.c.generation == generation)
        with self._store._write("resolve a wait in") as c:
            changed = bool(c.execute(update(W).where(*where).values(**changes)).rowcount)
            row = c.execute(select(W).where(W.c.id == wait_id)).first()
            if changed and row is not None and row.armed:
                self._notify(c, wait_id)
        return (None if row is None else _record(row)), changed

    def claim(self, wait_id: str) -> WaitRecord | None:
        with self._store._write("claim a wait in") as c:
            taken = c.execute(
                update(W)
                .where(W.c.id == wait_id, W.c.armed == 1, W.c.resumed == 0, W.c.state.not_in(OPEN))
                .values(resumed=1)
            ).rowcount
            return self._row(c, wait_id) if taken else None

    def release(self, wait_id: str) -> None:
        with self._store._write("give back a wait in") as c:
            c.execute(update(W).where(W.c.id == wait_id, W.c.resumed == 1).values(resumed=0))
            self._notify(c, wait_id)

    def select(
        self, *, kind: str | None = None, states: Iterable[str] | None = None, run_id: str | None = None
    ) -> list[WaitRecord]:
        query = select(W).order_by(W.c.created_at)
        if kind is not None:
            query = query.where(W.c.kind == kind)
        if states is not None:
            query = query.where(W.c.state.in_(list(states)))
        if run_id is not None:
            query = query.where(W.c.run_id == run_id)
        with self._store._read("read waits from") as c:
            return [_record(row) for row in c.execute(query)]

    def resumable(self, limit: int) -> list[WaitRecord]:
        query = select(W).where(W.c.armed == 1, W.c.resumed == 0, W.c.state.not_in(OPEN)).limit(limit)
        with self._store._read("read waits from") as c:
            return [_record(row) for row in c.execute(query)]

    def due(self, now: datetime, limit: int) -> list[WaitRecord]:
        query = (
            select(W)
            .where(W.c.state.in_(OPEN), W.c.expires_at.is_not(None), W.c.expires_at <= now)
            .order_by(W.c.expires_at)
            .limit(limit)
        )
        with self._store._read("read waits from") as c:
            return [_record(row) for row in c.execute(query)]

    def counts(self, overdue_before: datetime) -> tuple[int, int]:
        late = case((W.c.expires_at < overdue_before, 1), else_=0)
        query = select(func.count(), func.coalesce(func.sum(late), 0)).where(W.c.state.in_(OPEN))
        with self._store._read("count waits in") as c:
            total, overdue = c.execute(query).one()
        return int(total), int(overdue)
