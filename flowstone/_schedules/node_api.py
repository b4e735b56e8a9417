"""The node's schedule and sensor methods (mixed into ``Node``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowstone._schedules.info import ScheduleInfo
    from flowstone._schedules.schedule import Schedule
    from flowstone._schedules.sensor_api import SensorInfo
    from flowstone._schedules.wiring import ScheduleLayer

__all__ = ["SchedulesAPI"]


class SchedulesAPI:
    """Mixed into ``Node``: add, list, pause, resume and remove schedules; list, pause and
    resume sensors."""

    _schedules: ScheduleLayer

    def add_schedule(self, schedule: Schedule) -> None:
        """Carry ``schedule`` from now on; every node on the database sees it in the store."""
        self._schedules.api.add(schedule)

    def schedules(self) -> list[ScheduleInfo]:
        """Every schedule in the store: cron, zone, next fire time, last tick, paused."""
        return self._schedules.api.list()

    def pause_schedule(self, name: str) -> None:
        """Fire no tick of ``name`` (on any node) until ``resume_schedule``."""
        self._schedules.api.pause(name)

    def resume_schedule(self, name: str) -> None:
        """Fire ``name`` again from its next tick (ticks that fell while paused are skipped)."""
        self._schedules.api.resume(name)

    def remove_schedule(self, name: str) -> None:
        """Stop firing ``name`` on every node; ``add_schedule`` brings it back."""
        self._schedules.api.remove(name)

    def sensors(self) -> list[SensorInfo]:
        """Every sensor in the store: last poll, cursor, polls and errors."""
        return self._schedules.sensors.list()

    def pause_sensor(self, name: str) -> None:
        """Poll ``name`` on no node until ``resume_sensor``."""
        self._schedules.sensors.pause(name)

    def resume_sensor(self, name: str) -> None:
        """Poll ``name`` again (with its cursor where it was)."""
        self._schedules.sensors.resume(name)
