"""The ``schedules`` child of a node's tree (after the job layer) and its API: a
``rest_for_one`` supervisor over ``runs`` (without a database: in-process runs of what
fired), ``ticks`` (the schedules' timers) and ``sensors``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import supervisors
from flowstone._node.registry import Lookup
from flowstone._schedules.actor import ScheduleEnv, SchedulesActor
from flowstone._schedules.api import ScheduleAPI
from flowstone._schedules.clock import SystemWallClock
from flowstone._schedules.runs import Run, ScheduleRunsActor
from flowstone._schedules.schedule import Schedule
from flowstone._schedules.sensor import SensorDef
from flowstone._schedules.sensor_actor import SensorEnv, SensorsActor
from flowstone._schedules.sensor_api import SensorAPI
from flowstone._schedules.sensor_state import MemorySensorState, SensorState
from flowstone._schedules.state import MemoryScheduleState, ScheduleState

if TYPE_CHECKING:
    from datetime import datetime

    from flowstone._jobs.wiring import JobLayer
    from flowstone._node.config import NodeConfig
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["ScheduleLayer", "build_schedule_layer"]

_ASK_SECONDS = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleLayer:
    api: ScheduleAPI
    sensors: SensorAPI
    spec: supervisors.ChildSpec
    env: ScheduleEnv


class _Refs:
    """The current refs of the subtree's actors (they change when one restarts)."""

    def __init__(self) -> None:
        self.ticks: Any = None
        self.runs: Any = None
        self.sensors: Any = None

    def alive(self, name: str) -> Any:
        ref = getattr(self, name)
        return ref if ref is not None and ref.is_alive() else None

    def run_tick(self, schedule: Schedule, tick: datetime) -> None:
        if self.runs is not None:
            self.runs.tell(Run(schedule.pipeline, schedule.asset, schedule.partition(tick), schedule.name))

    def run_sensed(self, sensor: SensorDef, partition: Any) -> None:
        if self.runs is not None:
            self.runs.tell(Run(sensor.pipeline, sensor.target, partition, sensor.name))


def _nothing(sensor: SensorDef) -> None:
    """Without a database the runs actor is told directly: nothing to wake."""


def _pipelines_of(config: NodeConfig, services: Services) -> Callable[[], list[SensorDef]]:
    """The sensors of the pipelines given at start and of those the node has registered."""

    def sensors() -> list[SensorDef]:
        pipelines: list[Pipeline] = list(config.pipelines)
        registry = services.directory.lookup("registry")
        if registry is not None:
            for name in registry.ask("names", timeout=_ASK_SECONDS):
                ref = registry.ask(Lookup(name), timeout=_ASK_SECONDS)
                pipeline = ref() if ref is not None else None
                if pipeline is not None and all(pipeline is not p for p in pipelines):
                    pipelines.append(pipeline)
        return [sensor for pipeline in pipelines for sensor in pipeline.sensors()]

    return sensors


def build_schedule_layer(
    config: NodeConfig, services: Services, jobs: JobLayer | None, run: Callable[[Any, str, Any], Any]
) -> ScheduleLayer:
    refs = _Refs()
    wall = config.clock if config.clock is not None else SystemWallClock()
    state: ScheduleState
    sensor_state: SensorState
    check: Callable[[Any], object] | None = None
    on_triggered: Callable[[SensorDef], None] = _nothing
    if jobs is None:
        state = MemoryScheduleState(refs.run_tick)
        sensor_state = MemorySensorState(refs.run_sensed)
        env = ScheduleEnv(state=state, clock=wall, poll_interval=None)
    else:
        from flowstone._jobs.reference import reference_of  # noqa: PLC0415 - SQLAlchemy loads lazily
        from flowstone._schedules.sql_sensor_state import SQLSensorState  # noqa: PLC0415
        from flowstone._schedules.sql_state import SQLScheduleState  # noqa: PLC0415

        api = jobs.api
        for schedule in config.schedules:
            reference_of(schedule.pipeline)  # a worker must be able to import it: fail at start
        state = SQLScheduleState(api.table, api)
        sensor_state = SQLSensorState(api.table, api)
        check = reference_of

        def on_triggered(sensor: SensorDef) -> None:
            api._wake("assets")

        env = ScheduleEnv(
            state=state,
            clock=wall,
            poll_interval=config.poll_interval,
            on_fired=lambda schedule, ticks: api._wake(schedule.queue) if ticks else None,
            on_definition=lambda schedule: api._register(schedule.pipeline),
        )
    env.definitions.update({schedule.name: schedule for schedule in config.schedules})
    env.events = services.events
    sensor_env = SensorEnv(
        state=sensor_state,
        clock=wall,
        node_id=services.node_id,
        poll_interval=config.poll_interval,
        sensors=_pipelines_of(config, services),
        resources=services.resources,
        store=services.store,
        on_triggered=on_triggered,
        events=services.events,
    )

    def start_runs() -> Any:
        refs.runs = ScheduleRunsActor.start(run)
        return refs.runs

    def start_ticks() -> Any:
        refs.ticks = SchedulesActor.start(env)
        return refs.ticks

    def start_sensors() -> Any:
        refs.sensors = SensorsActor.start(sensor_env)
        return refs.sensors

    children = [supervisors.ChildSpec("ticks", start_ticks), supervisors.ChildSpec("sensors", start_sensors)]
    if jobs is None:
        children.insert(0, supervisors.ChildSpec("runs", start_runs))

    def start() -> supervisors.SupervisorRef:
        return supervisors.Supervisor.start(
            children, strategy="rest_for_one", max_restarts=10, max_seconds=60.0, name="schedules"
        )

    return ScheduleLayer(
        api=ScheduleAPI(state, wall, lambda: refs.alive("ticks"), check),
        sensors=SensorAPI(sensor_state, lambda: refs.alive("sensors")),
        spec=supervisors.ChildSpec("schedules", start, type="supervisor"),
        env=env,
    )
