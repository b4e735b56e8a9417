"""``node.sensors``, ``pause_sensor``, ``resume_sensor``: the node's sensor API."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pykka import ActorDeadError

from flowstone._schedules.sensor_state import SensorRow, SensorState, UnknownSensorError

__all__ = ["SensorAPI", "SensorInfo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorInfo:
    """One sensor's state as the store keeps it."""

    name: str
    pipeline: str
    target: str
    interval: float
    paused: bool
    cursor: Any
    last_poll: datetime | None
    polls: int
    errors: int
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pipeline": self.pipeline,
            "target": self.target,
            "interval": self.interval,
            "paused": self.paused,
            "cursor": self.cursor,
            "last_poll": None if self.last_poll is None else self.last_poll.isoformat(),
            "polls": self.polls,
            "errors": self.errors,
            "last_error": self.last_error,
        }


def sensor_info(row: SensorRow) -> SensorInfo:
    return SensorInfo(
        name=row.name,
        pipeline=row.pipeline,
        target=row.target,
        interval=row.interval,
        paused=row.paused,
        cursor=row.cursor_value,
        last_poll=None if row.last_poll is None else datetime.fromtimestamp(row.last_poll, UTC),
        polls=row.polls,
        errors=row.errors,
        last_error=row.last_error,
    )


class SensorAPI:
    def __init__(self, state: SensorState, actor: Callable[[], Any]) -> None:
        self._state = state
        self._actor = actor

    def list(self) -> list[SensorInfo]:
        return [sensor_info(row) for row in self._state.rows()]

    def get(self, name: str) -> SensorInfo:
        row = self._state.row(name)
        if row is None:
            raise UnknownSensorError(f"no sensor named {name!r}; node.sensors() lists them")
        return sensor_info(row)

    def pause(self, name: str) -> None:
        self._state.update(name, paused=True)

    def resume(self, name: str) -> None:
        self._state.update(name, paused=False)
        ref = self._actor()
        if ref is not None:
            with contextlib.suppress(ActorDeadError):
                ref.ask("refresh", timeout=30.0)
