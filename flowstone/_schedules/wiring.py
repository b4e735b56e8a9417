"""The ``schedules`` child of a node's tree (after the job layer) and its API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import supervisors
from flowstone._schedules.actor import ScheduleEnv, SchedulesActor
from flowstone._schedules.api import ScheduleAPI
from flowstone._schedules.clock import SystemWallClock, WallClock
from flowstone._schedules.runs import RunTick, ScheduleRunsActor
from flowstone._schedules.schedule import Schedule
from flowstone._schedules.state import MemoryScheduleState, ScheduleState

if TYPE_CHECKING:
    from datetime import datetime

    from flowstone._jobs.wiring import JobLayer

__all__ = ["ScheduleLayer", "build_schedule_layer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleLayer:
    api: ScheduleAPI
    spec: supervisors.ChildSpec
    env: ScheduleEnv


class _Refs:
    """The current refs of the subtree's actors (they change when one restarts)."""

    def __init__(self) -> None:
        self.ticks: Any = None
        self.runs: Any = None

    def run(self, schedule: Schedule, tick: datetime) -> None:
        if self.runs is not None:
            self.runs.tell(RunTick(schedule, tick))


def build_schedule_layer(
    schedules: tuple[Schedule, ...],
    clock: WallClock | None,
    poll_interval: float,
    jobs: JobLayer | None,
    run: Callable[[Any, str, Any], Any],
) -> ScheduleLayer:
    """``schedules`` under a ``rest_for_one`` supervisor: ``runs`` (without a database:
    in-process runs of fired ticks), then ``ticks`` (the timers)."""
    refs = _Refs()
    wall = clock if clock is not None else SystemWallClock()
    state: ScheduleState
    if jobs is None:
        state = MemoryScheduleState(refs.run)
        env = ScheduleEnv(state=state, clock=wall, poll_interval=None)
    else:
        from flowstone._jobs.reference import reference_of  # noqa: PLC0415 - SQLAlchemy loads lazily
        from flowstone._schedules.sql_state import SQLScheduleState  # noqa: PLC0415

        api = jobs.api
        for schedule in schedules:
            reference_of(schedule.pipeline)  # a worker must be able to import it: fail at start
        state = SQLScheduleState(api)
        env = ScheduleEnv(
            state=state,
            clock=wall,
            poll_interval=poll_interval,
            on_fired=lambda schedule, ticks: api._wake(schedule.queue) if ticks else None,
            on_definition=lambda schedule: api._register(schedule.pipeline),
        )
    env.definitions.update({schedule.name: schedule for schedule in schedules})

    def start_runs() -> Any:
        refs.runs = ScheduleRunsActor.start(run)
        return refs.runs

    def start_ticks() -> Any:
        refs.ticks = SchedulesActor.start(env)
        return refs.ticks

    children = [supervisors.ChildSpec("ticks", start_ticks)]
    if jobs is None:
        children.insert(0, supervisors.ChildSpec("runs", start_runs))

    def start() -> supervisors.SupervisorRef:
        return supervisors.Supervisor.start(
            children, strategy="rest_for_one", max_restarts=10, max_seconds=60.0, name="schedules"
        )

    spec = supervisors.ChildSpec("schedules", start, type="supervisor")

    def ticks() -> Any:
        ref = refs.ticks
        return ref if ref is not None and ref.is_alive() else None

    check = None if jobs is None else reference_of
    return ScheduleLayer(api=ScheduleAPI(state, wall, ticks, check), spec=spec, env=env)
