"""Schedule state in the database: every node on it sees every change, and a tick's runs
are enqueued in the same transaction as the compare-and-set that claims the tick."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update

from flowstone._jobs.records import Unique
from flowstone._jobs.reference import reference_of
from flowstone._schedules.schedule import Schedule
from flowstone._schedules.sql_base import SQLStateBase
from flowstone._schedules.state import ScheduleRow, UnknownScheduleError
from flowstone._store.sql.schema import jobs, schedules

if TYPE_CHECKING:
    from flowstone._jobs.table import NewJob

__all__ = ["SQLScheduleState", "tick_key"]

S = schedules
#: A tick's job keeps its unique key while it is live or completed (the default states).
_KEEP = Unique()
_DEFINITION = ("pipeline", "asset", "cron", "timezone", "catch_up", "max_catch_up", "queue")


def tick_key(name: str, tick: datetime) -> str:
    """The unique key of a tick's job: the schedule's name and the tick's instant."""
    return f"schedule:{name}:{tick.astimezone(UTC).isoformat()}"


def _row(found: Any) -> ScheduleRow:
    return ScheduleRow(
        name=found.name,
        pipeline=found.pipeline,
        asset=found.asset,
        cron=found.cron,
        timezone=found.timezone,
        catch_up=found.catch_up,
        max_catch_up=found.max_catch_up,
        queue=found.queue,
        paused=bool(found.paused),
        removed=bool(found.removed),
        created_at=found.created_at,
        last_tick=found.last_tick,
    )


class SQLScheduleState(SQLStateBase):
    """``ScheduleState`` over the node's SQL store and job table."""

    def register(self, row: ScheduleRow) -> None:
        with self._store._write("register a schedule in") as c:
            definition = {field: getattr(row, field) for field in _DEFINITION}
            statement = self._table._insert(c)(S).values(
                name=row.name,
                paused=0,
                removed=0,
                created_at=row.created_at,
                last_tick=None,
                revision=0,
                **definition,
            )
            changes = {**definition, "removed": 0, "revision": S.c.revision + 1}
            c.execute(statement.on_conflict_do_update(index_elements=[S.c.name], set_=changes))

    def version(self) -> int:
        with self._store._read("read the schedules' revision in") as c:
            found = c.execute(select(func.count(), func.sum(S.c.revision))).one()
            return int(found[0]) * 1_000_003 + int(found[1] or 0)

    def rows(self) -> list[ScheduleRow]:
        with self._store._read("read the schedules in") as c:
            return [_row(found) for found in c.execute(select(S).order_by(S.c.name))]

    def row(self, name: str) -> ScheduleRow | None:
        with self._store._read("read a schedule in") as c:
            found = c.execute(select(S).where(S.c.name == name)).first()
            return None if found is None else _row(found)

    def update(self, name: str, **changes: Any) -> None:
        values = {key: int(value) if isinstance(value, bool) else value for key, value in changes.items()}
        with self._store._write("update a schedule in") as c:
            statement = update(S).where(S.c.name == name).values(**values, revision=S.c.revision + 1)
            if c.execute(statement).rowcount != 1:
                raise UnknownScheduleError(f"no schedule named {name!r}; node.schedules() lists them")

    def fire(self, schedule: Schedule, old: float | None, new: float, ticks: Sequence[datetime]) -> bool:
        pipeline = schedule.pipeline
        reference = reference_of(pipeline)
        built = [
            self._jobs._new_job(
                pipeline,
                schedule.asset,
                schedule.partition(tick),
                force=False,
                priority=0,
                scheduled_at=None,
                queue=schedule.queue,
                unique=_KEEP,  # its states; the key itself is the tick's
                reference=reference,
            )
            for tick in ticks
        ]
        with self._store._write("fire a schedule's tick in") as c:
            claimed = (S.c.last_tick.is_(None)) if old is None else (S.c.last_tick == old)
            statement = (
                update(S)
                .where(S.c.name == schedule.name, S.c.paused == 0, S.c.removed == 0, claimed)
                .values(last_tick=new, revision=S.c.revision + 1)
            )
            if c.execute(statement).rowcount != 1:
                return False  # another node fired it, or it was paused or removed meanwhile
            for tick, job in zip(ticks, built, strict=True):
                self._insert(c, job, tick_key(schedule.name, tick))
            if built:
                self._table._notify(c, [schedule.queue])
        return True

    def _insert(self, c: Connection, job: NewJob, key: str) -> None:
        row = self._table._row(c, job, 0.0)
        row["unique_key"] = key
        now = self._table.now(c)
        statement = (
            self._table._insert(c)(jobs)
            .values(**row, state="available", inserted_at=now, scheduled_at=now)
            .on_conflict_do_nothing(index_elements=[jobs.c.unique_key])
        )
        c.execute(statement)
