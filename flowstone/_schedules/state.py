"""Where schedules keep their state: a row per schedule, and the compare-and-set that fires
a tick. ``MemoryScheduleState`` for a node without a database; the SQL one is in
``sql_state.py``."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flowstone._schedules.schedule import Schedule
from flowstone.errors import FlowStoneError

__all__ = ["MemoryScheduleState", "ScheduleRow", "ScheduleState", "UnknownScheduleError", "row_of"]


class UnknownScheduleError(FlowStoneError, KeyError):
    """No schedule of that name on this node's store; ``node.schedules()`` lists them."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown schedule"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRow:
    """A schedule as the store keeps it: its definition as text and its state."""

    name: str
    pipeline: str
    asset: str
    cron: str
    timezone: str
    catch_up: str
    max_catch_up: int
    queue: str
    paused: bool = False
    removed: bool = False
    created_at: float = 0.0
    last_tick: float | None = None


def row_of(schedule: Schedule, now: datetime) -> ScheduleRow:
    """The row a schedule registers: created ``now``, never fired."""
    return ScheduleRow(
        name=schedule.name,
        pipeline=schedule.pipeline.name,
        asset=schedule.asset,
        cron=schedule.cron,
        timezone=schedule.timezone,
        catch_up=schedule.catch_up,
        max_catch_up=schedule.max_catch_up,
        queue=schedule.queue,
        created_at=now.timestamp(),
    )


class ScheduleState(Protocol):
    """The operations the schedules actor and the node's API need."""

    def register(self, row: ScheduleRow) -> None:
        """Insert the row, or update the definition of an existing one (it is no longer
        removed; its pause, creation time and last tick stay)."""

    def version(self) -> int:
        """A number that changes whenever any row does (a cheap poll)."""

    def rows(self) -> list[ScheduleRow]:
        """Every schedule, removed ones included, by name."""

    def row(self, name: str) -> ScheduleRow | None:
        """One schedule's row."""

    def update(self, name: str, **changes: Any) -> None:
        """Set ``paused``, ``removed`` or ``last_tick``; ``UnknownScheduleError`` if none."""

    def fire(self, schedule: Schedule, old: float | None, new: float, ticks: Sequence[datetime]) -> bool:
        """If the schedule's last tick is still ``old`` (and it is active), set it to ``new``
        and start one run per tick, all at once; False (and nothing done) otherwise."""


class MemoryScheduleState:
    """Schedule rows in a dict; ``fire`` hands its runs to ``start_run`` (in-process)."""

    def __init__(self, start_run: Callable[[Schedule, datetime], None]) -> None:
        self._rows: dict[str, ScheduleRow] = {}
        self._lock = threading.Lock()
        self._start_run = start_run
        self._version = 0

    def version(self) -> int:
        with self._lock:
            return self._version

    def register(self, row: ScheduleRow) -> None:
        with self._lock:
            old = self._rows.get(row.name)
            if old is not None:
                row = dataclasses.replace(
                    row, paused=old.paused, created_at=old.created_at, last_tick=old.last_tick
                )
            self._rows[row.name] = row
            self._version += 1

    def rows(self) -> list[ScheduleRow]:
        with self._lock:
            return [self._rows[name] for name in sorted(self._rows)]

    def row(self, name: str) -> ScheduleRow | None:
        with self._lock:
            return self._rows.get(name)

    def update(self, name: str, **changes: Any) -> None:
        with self._lock:
            old = self._rows.get(name)
            if old is None:
                raise UnknownScheduleError(f"no schedule named {name!r}; node.schedules() lists them")
            self._rows[name] = dataclasses.replace(old, **changes)
            self._version += 1

    def fire(self, schedule: Schedule, old: float | None, new: float, ticks: Sequence[datetime]) -> bool:
        with self._lock:
            row = self._rows.get(schedule.name)
            if row is None or row.paused or row.removed or row.last_tick != old:
                return False
            self._rows[schedule.name] = dataclasses.replace(row, last_tick=new)
            self._version += 1
        for tick in ticks:
            self._start_run(schedule, tick)
        return True
