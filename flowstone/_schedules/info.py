"""``fs.ScheduleInfo``: a schedule as ``node.schedules()`` and the CLI show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowstone._schedules.state import ScheduleRow
from flowstone._schedules.ticks import next_tick

__all__ = ["ScheduleInfo", "info_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleInfo:
    """One schedule's definition and state; times are aware, in the schedule's zone."""

    name: str
    pipeline: str
    asset: str
    cron: str
    timezone: str
    catch_up: str
    paused: bool
    next_fire: datetime | None
    last_tick: datetime | None

    @property
    def zone(self) -> str:
        """The same as ``timezone``."""
        return self.timezone

    @property
    def next_fire_time(self) -> datetime | None:
        """The same as ``next_fire``."""
        return self.next_fire

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pipeline": self.pipeline,
            "asset": self.asset,
            "cron": self.cron,
            "timezone": self.timezone,
            "catch_up": self.catch_up,
            "paused": self.paused,
            "next_fire": None if self.next_fire is None else self.next_fire.isoformat(),
            "last_tick": None if self.last_tick is None else self.last_tick.isoformat(),
        }


def info_of(row: ScheduleRow, now: datetime) -> ScheduleInfo:
    """The info of a row at ``now``: the next fire time is the first tick after the last one
    (or after now, whichever is later); none while paused."""
    zone = ZoneInfo(row.timezone)
    last = None if row.last_tick is None else datetime.fromtimestamp(row.last_tick, UTC).astimezone(zone)
    after = max(now, last) if last is not None else now
    return ScheduleInfo(
        name=row.name,
        pipeline=row.pipeline,
        asset=row.asset,
        cron=row.cron,
        timezone=row.timezone,
        catch_up=row.catch_up,
        paused=row.paused,
        next_fire=None if row.paused else next_tick(row.cron, zone, after),
        last_tick=last,
    )
