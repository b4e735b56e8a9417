"""Sensor state in the database: the new cursor and the triggered jobs commit in one
transaction, so a crash neither loses a trigger nor triggers twice for one cursor advance."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from flowstone import partitions
from flowstone._jobs.records import Unique
from flowstone._jobs.reference import reference_of
from flowstone._schedules.sensor import SensorDef, SensorResult
from flowstone._schedules.sensor_state import SensorRow, UnknownSensorError, encode_cursor
from flowstone._schedules.sql_base import SQLStateBase
from flowstone._store.sql.schema import jobs, sensors

if TYPE_CHECKING:
    pass

__all__ = ["SQLSensorState", "run_key"]

S = sensors
_KEEP = Unique()  # a triggered job keeps its run key while live or completed


def run_key(sensor: str, partition_key: str) -> str:
    """The unique key of a sensor's job for a partition."""
    return "sensor:" + json.dumps([sensor, partition_key])


def _row(found: Any) -> SensorRow:
    return SensorRow(
        name=found.name,
        pipeline=found.pipeline,
        target=found.target,
        interval=found.interval,
        paused=bool(found.paused),
        cursor=found.cursor,
        last_poll=found.last_poll,
        polls=found.polls,
        errors=found.errors,
        last_error=found.last_error,
    )


class SQLSensorState(SQLStateBase):
    """``SensorState`` over the node's SQL store, job table and leases."""

    def register(self, sensor: SensorDef) -> None:
        fields = {"pipeline": sensor.pipeline.name, "target": sensor.target, "interval": sensor.interval}
        with self._store._write("register a sensor in") as c:
            statement = self._table._insert(c)(S).values(
                name=sensor.name, paused=0, polls=0, errors=0, **fields
            )
            c.execute(statement.on_conflict_do_update(index_elements=[S.c.name], set_=fields))

    def rows(self) -> list[SensorRow]:
        with self._store._read("read the sensors in") as c:
            return [_row(found) for found in c.execute(select(S).order_by(S.c.name))]

    def row(self, name: str) -> SensorRow | None:
        with self._store._read("read a sensor in") as c:
            found = c.execute(select(S).where(S.c.name == name)).first()
            return None if found is None else _row(found)

    def update(self, name: str, **changes: Any) -> None:
        values = {key: int(value) if isinstance(value, bool) else value for key, value in changes.items()}
        with self._store._write("update a sensor in") as c:
            if c.execute(update(S).where(S.c.name == name).values(**values)).rowcount != 1:
                raise UnknownSensorError(f"no sensor named {name!r}; node.sensors() lists them")

    def holds(self, name: str, holder: str, ttl: float) -> bool:
        return self._table.acquire_lease(f"sensor:{name}", holder, ttl)

    def failed(self, name: str, at: float, error: str) -> None:
        with self._store._write("count a sensor's failed poll in") as c:
            c.execute(
                update(S)
                .where(S.c.name == name)
                .values(last_poll=at, polls=S.c.polls + 1, errors=S.c.errors + 1, last_error=error[:2000])
            )

    def commit(self, sensor: SensorDef, old: str | None, result: SensorResult, at: float) -> bool:
        pipeline = sensor.pipeline
        reference = reference_of(pipeline)
        built = {}
        for partition in result.partitions:
            job = self._jobs._new_job(
                pipeline,
                sensor.target,
                partition,
                force=False,
                priority=0,
                scheduled_at=None,
                queue="assets",
                unique=_KEEP,
                reference=reference,
            )
            built[partitions.serialize(partition)] = job  # a partition given twice runs once
        with self._store._write("commit a sensor's poll in") as c:
            unchanged = S.c.cursor.is_(None) if old is None else S.c.cursor == old
            advanced = (
                update(S)
                .where(S.c.name == sensor.name, unchanged)
                .values(
                    cursor=encode_cursor(result.cursor), last_poll=at, polls=S.c.polls + 1, last_error=None
                )
            )
            if c.execute(advanced).rowcount != 1:
                return False  # another node advanced it (its lease expired under us)
            if built:
                now = self._table.now(c)
                rows = []
                for key, job in built.items():
                    row = self._table._row(c, job, 0.0)
                    row["unique_key"] = run_key(sensor.name, key)
                    rows.append(row)
                statement = (
                    self._table._insert(c)(jobs)
                    .values(state="available", inserted_at=now, scheduled_at=now)
                    .on_conflict_do_nothing(index_elements=[jobs.c.unique_key])
                )
                c.execute(statement, rows)
                self._table._notify(c, ["assets"])
        return True
