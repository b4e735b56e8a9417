"""Where sensors keep their cursor, poll count and errors: in memory, or in the database
(``sql_sensor_state.py``), where the new cursor and the triggered runs commit together."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flowstone import partitions
from flowstone._schedules.sensor import SensorDef, SensorResult
from flowstone._schedules.state import UnknownScheduleError

__all__ = ["MemorySensorState", "SensorRow", "SensorState", "UnknownSensorError", "encode_cursor"]


class UnknownSensorError(UnknownScheduleError):
    """No sensor of that name on this node's store; ``node.sensors()`` lists them."""


def encode_cursor(cursor: Any) -> str | None:
    """The cursor as stored: JSON text, None for None."""
    return None if cursor is None else json.dumps(cursor, sort_keys=True, allow_nan=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorRow:
    """A sensor as the store keeps it."""

    name: str
    pipeline: str
    target: str
    interval: float
    paused: bool = False
    cursor: str | None = None  # JSON text
    last_poll: float | None = None
    polls: int = 0
    errors: int = 0
    last_error: str | None = None

    @property
    def cursor_value(self) -> Any:
        return None if self.cursor is None else json.loads(self.cursor)


class SensorState(Protocol):
    def register(self, sensor: SensorDef) -> None:
        """Insert a row for the sensor (its definition updated if there is one)."""

    def rows(self) -> list[SensorRow]: ...

    def row(self, name: str) -> SensorRow | None: ...

    def update(self, name: str, **changes: Any) -> None:
        """Set ``paused``; ``UnknownSensorError`` if there is no such sensor."""

    def holds(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease on polling ``name`` for ``ttl`` seconds."""

    def failed(self, name: str, at: float, error: str) -> None:
        """Count a failed poll; the cursor stays."""

    def commit(self, sensor: SensorDef, old: str | None, result: SensorResult, at: float) -> bool:
        """If the cursor is still ``old``: store the new one and trigger every partition of
        ``result`` (each at most once per sensor), at once. False, and nothing done, otherwise."""


class MemorySensorState:
    """Sensor rows in a dict; triggered partitions go to ``start_run`` (in-process)."""

    def __init__(self, start_run: Callable[[SensorDef, Any], None]) -> None:
        self._rows: dict[str, SensorRow] = {}
        self._triggered: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._start_run = start_run

    def register(self, sensor: SensorDef) -> None:
        with self._lock:
            old = self._rows.get(sensor.name)
            row = SensorRow(
                name=sensor.name,
                pipeline=sensor.pipeline.name,
                target=sensor.target,
                interval=sensor.interval,
            )
            if old is not None:
                row = dataclasses.replace(
                    old, pipeline=row.pipeline, target=row.target, interval=row.interval
                )
            self._rows[sensor.name] = row

    def rows(self) -> list[SensorRow]:
        with self._lock:
            return [self._rows[name] for name in sorted(self._rows)]

    def row(self, name: str) -> SensorRow | None:
        with self._lock:
            return self._rows.get(name)

    def update(self, name: str, **changes: Any) -> None:
        with self._lock:
            old = self._rows.get(name)
            if old is None:
                raise UnknownSensorError(f"no sensor named {name!r}; node.sensors() lists them")
            self._rows[name] = dataclasses.replace(old, **changes)

    def holds(self, name: str, holder: str, ttl: float) -> bool:
        return True  # one node: nobody to share with

    def failed(self, name: str, at: float, error: str) -> None:
        with self._lock:
            old = self._rows[name]
            self._rows[name] = dataclasses.replace(
                old, last_poll=at, polls=old.polls + 1, errors=old.errors + 1, last_error=error
            )

    def commit(self, sensor: SensorDef, old: str | None, result: SensorResult, at: float) -> bool:
        new = []
        with self._lock:
            row = self._rows[sensor.name]
            if row.cursor != old:
                return False
            for partition in result.partitions:
                key = (sensor.name, partitions.serialize(partition))
                if key not in self._triggered:
                    self._triggered.add(key)
                    new.append(partition)
            self._rows[sensor.name] = dataclasses.replace(
                row, cursor=encode_cursor(result.cursor), last_poll=at, polls=row.polls + 1, last_error=None
            )
        for partition in new:
            self._start_run(sensor, partition)
        return True
