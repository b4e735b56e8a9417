"""``ScheduleRunsActor``: on a node without a database, runs each fired tick in-process,
one after another, in its own thread (a durable node enqueues jobs instead)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import supervisors
from supervisors._log import get_logger

__all__ = ["Run", "ScheduleRunsActor"]

log = get_logger("flowstone.schedules")


@dataclass(frozen=True, slots=True)
class Run:
    """Materialize ``asset`` for ``partition``, because of ``origin`` (a schedule's tick, a sensor)."""

    pipeline: Any
    asset: str
    partition: Any
    origin: str


class ScheduleRunsActor(supervisors.Actor):
    """Materializes ``Run``s with ``run(pipeline, asset, partition)``; a failure is logged."""

    def __init__(self, run: Callable[[Any, str, Any], Any]) -> None:
        super().__init__()
        self._run = run

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Run):
            try:
                self._run(message.pipeline, message.asset, message.partition)
            except Exception as exc:  # noqa: BLE001 - recorded by the run; the schedule goes on
                log.warning(
                    "schedule.run_failed",
                    origin=message.origin,
                    asset=message.asset,
                    error=f"{type(exc).__name__}: {exc}",
                )
            return None
        if message == "ping":
            return "pong"
        raise TypeError(f"schedule runs actor got an unexpected message {message!r}")
