"""Checks of the ``schedules=`` option of ``fs.start``."""

from __future__ import annotations

from collections.abc import Iterable

from flowstone._schedules.schedule import Schedule
from flowstone.errors import DefinitionError

__all__ = ["check_schedules"]


def check_schedules(value: object) -> tuple[Schedule, ...]:
    """``value`` as a tuple of schedules with distinct names, or ``TypeError``/``DefinitionError``."""
    if isinstance(value, (str, bytes, Schedule)) or not isinstance(value, Iterable):
        raise TypeError(f"schedules must be a list of fs.Schedule, got {value!r}")
    schedules = tuple(value)
    names: set[str] = set()
    for schedule in schedules:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedules must be a list of fs.Schedule, got an item {schedule!r}")
        if schedule.name in names:
            raise DefinitionError(f"two schedules are named {schedule.name!r}; give one of them name='...'")
        names.add(schedule.name)
    return schedules
