"""``node.add_schedule``, ``schedules``, ``pause_schedule``, ``resume_schedule``,
``remove_schedule``: the node's schedule API over the store and the schedules actor."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pykka import ActorDeadError

from flowstone._schedules.actor import Add
from flowstone._schedules.clock import WallClock
from flowstone._schedules.info import ScheduleInfo, info_of
from flowstone._schedules.schedule import Schedule
from flowstone._schedules.state import ScheduleState, UnknownScheduleError
from flowstone._schedules.ticks import due_ticks
from flowstone.errors import FlowStoneError

__all__ = ["ScheduleAPI"]

_ASK_SECONDS = 30.0


class ScheduleAPI:
    """What a node offers about schedules; every change is made in the store first."""

    def __init__(
        self,
        state: ScheduleState,
        clock: WallClock,
        actor: Callable[[], Any],
        check: Callable[[Any], object] | None = None,
    ) -> None:
        self._check = check  # raises for a pipeline the node's jobs cannot name
        self._state = state
        self._clock = clock
        self._actor = actor

    def _tell_actor(self, message: Any) -> None:
        ref = self._actor()
        if ref is None:
            raise FlowStoneError("the node's schedules are not running (is the node stopped?)")
        with contextlib.suppress(ActorDeadError):
            ref.ask(message, timeout=_ASK_SECONDS)

    def add(self, schedule: Schedule) -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"add_schedule takes an fs.Schedule, got {schedule!r}")
        if self._check is not None:
            self._check(schedule.pipeline)
        self._tell_actor(Add(schedule))

    def list(self) -> list[ScheduleInfo]:
        now = self._clock.now()
        return [info_of(row, now) for row in self._state.rows() if not row.removed]

    def get(self, name: str) -> ScheduleInfo:
        row = self._state.row(name)
        if row is None or row.removed:
            raise UnknownScheduleError(f"no schedule named {name!r}; node.schedules() lists them")
        return info_of(row, self._clock.now())

    def pause(self, name: str) -> None:
        self.get(name)
        self._state.update(name, paused=True)
        self._refresh()

    def resume(self, name: str) -> None:
        """Active again from now: the ticks that fell while it was paused are not caught up."""
        self.get(name)
        row = self._state.row(name)
        assert row is not None
        now = self._clock.now()
        after = max(row.last_tick or row.created_at, row.created_at)
        passed = due_ticks(
            row.cron,
            ZoneInfo(row.timezone),
            after=datetime.fromtimestamp(after, UTC),
            now=now,
            catch_up="latest",
            max_catch_up=1,
            grace=timedelta(0),
        )
        changes: dict[str, Any] = {"paused": False}
        if passed:
            changes["last_tick"] = passed[-1].timestamp()
        self._state.update(name, **changes)
        self._refresh()

    def remove(self, name: str) -> None:
        self.get(name)
        self._state.update(name, removed=True)
        self._refresh()

    def _refresh(self) -> None:
        ref = self._actor()
        if ref is not None:
            with contextlib.suppress(ActorDeadError):
                ref.ask("refresh", timeout=_ASK_SECONDS)
