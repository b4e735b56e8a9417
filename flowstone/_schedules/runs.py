"""``ScheduleRunsActor``: on a node without a database, runs each fired tick in-process,
one after another, in its own thread (a durable node enqueues jobs instead)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import supervisors
from flowstone._schedules.schedule import Schedule
from supervisors._log import get_logger

__all__ = ["RunTick", "ScheduleRunsActor"]

log = get_logger("flowstone.schedules")


@dataclass(frozen=True, slots=True)
class RunTick:
    schedule: Schedule
    tick: datetime


class ScheduleRunsActor(supervisors.Actor):
    """Materializes ``RunTick``s with ``run(pipeline, asset, partition)``; a failure is logged."""

    def __init__(self, run: Callable[[Any, str, Any], Any]) -> None:
        super().__init__()
        self._run = run

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, RunTick):
            schedule = message.schedule
            try:
                self._run(schedule.pipeline, schedule.asset, schedule.partition(message.tick))
            except Exception as exc:  # noqa: BLE001 - recorded by the run; the schedule goes on
                log.warning(
                    "schedule.run_failed",
                    schedule=schedule.name,
                    tick=message.tick.isoformat(),
                    error=f"{type(exc).__name__}: {exc}",
                )
            return None
        if message == "ping":
            return "pong"
        raise TypeError(f"schedule runs actor got an unexpected message {message!r}")
