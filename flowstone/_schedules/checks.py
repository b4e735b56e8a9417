"""Checks of the ``schedules=`` option of ``fs.start``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flowstone._schedules.schedule import Schedule
from flowstone.errors import DefinitionError, OptionError

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["check_pipelines", "check_schedules"]


def check_schedules(value: object) -> tuple[Schedule, ...]:
    """``value`` as a tuple of schedules with distinct names, or ``TypeError``/``DefinitionError``."""
    if isinstance(value, (str, bytes, Schedule)) or not isinstance(value, Iterable):
        raise OptionError(f"schedules must be a list of fs.Schedule, got {value!r}")
    schedules = tuple(value)
    names: set[str] = set()
    for schedule in schedules:
        if not isinstance(schedule, Schedule):
            raise OptionError(f"schedules must be a list of fs.Schedule, got an item {schedule!r}")
        if schedule.name in names:
            raise DefinitionError(f"two schedules are named {schedule.name!r}; give one of them name='...'")
        names.add(schedule.name)
    return schedules


def check_pipelines(value: object) -> tuple[Pipeline, ...]:
    """``value`` as a tuple of pipelines, or ``TypeError``."""
    from flowstone._pipeline import Pipeline  # noqa: PLC0415 - the pipeline module imports this package

    if isinstance(value, (str, bytes, Pipeline)) or not isinstance(value, Iterable):
        raise OptionError(f"pipelines must be a list of fs.Pipeline, got {value!r}")
    pipelines = tuple(value)
    for pipeline in pipelines:
        if not isinstance(pipeline, Pipeline):
            raise OptionError(f"pipelines must be a list of fs.Pipeline, got an item {pipeline!r}")
    return pipelines
