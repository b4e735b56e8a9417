"""``SensorsActor``: polls the sensors a node carries, each every ``interval`` seconds of the
node's clock, one node at a time per sensor (a lease), and commits each poll's cursor with
the runs it triggers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import supervisors
from flowstone._periodic import Periodic
from flowstone._schedules.actor import _Wake, rearm
from flowstone._schedules.clock import WallClock
from flowstone._schedules.sensor import SensorContext, SensorDef, SensorResult
from flowstone._schedules.sensor_state import SensorState
from flowstone.errors import StoreUnavailableError
from flowstone.events import EventBus, SensorPolled, SensorPollFailed
from supervisors._log import get_logger

__all__ = ["SensorEnv", "SensorsActor"]

log = get_logger("flowstone.sensors")


@dataclass(slots=True, kw_only=True)
class SensorEnv:
    state: SensorState
    clock: WallClock
    node_id: str
    poll_interval: float  # real seconds between looks for new pipelines and changed rows
    sensors: Callable[[], list[SensorDef]]  # those of the node's pipelines, read on each look
    resources: Mapping[str, Any] = field(default_factory=dict)
    store: Any = None
    on_triggered: Callable[[SensorDef], None] = lambda sensor: None
    events: EventBus | None = None


def lease_seconds(interval: float) -> float:
    """How long a node holds a sensor's lease after a poll (real seconds)."""
    return max(3 * interval, 2.0)


class SensorsActor(supervisors.Actor):
    """Answers ``"look"`` (new sensors, changed rows), ``"failing"`` and ``"ping"``."""

    def __init__(self, env: SensorEnv) -> None:
        super().__init__()
        self._env = env
        self._sensors: dict[str, SensorDef] = {}
        self._next: dict[str, datetime] = {}
        self._timer: supervisors.Cancellable | None = None
        self._timer_at: datetime | None = None
        self._looks = Periodic(self, "look", env.poll_interval, self._handle)  # real time

    def on_start(self) -> None:
        self.actor_ref.tell("look")  # the registry is asked for pipelines: not from on_start

    def on_stop(self) -> None:
        self._cancel()

    def on_failure(self, *_exc: object) -> None:
        self._cancel()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._looks.cancel()

    def on_receive(self, message: Any) -> Any:
        try:
            return self._handle(message)
        finally:
            self._looks.wait()

    def on_timeout(self) -> None:
        self.on_receive("look")

    def _handle(self, message: Any) -> Any:
        if isinstance(message, _Wake):
            try:
                self._timer = self._timer_at = None
                self._poll_due()
            finally:
                if message.done is not None:
                    message.done.set()
            return None
        if message in ("look", "refresh"):
            try:
                self._look_around()
                self._poll_due()
            except StoreUnavailableError as exc:  # the store away: the next look tries again
                log.warning("sensor.look_failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                if message == "look":
                    self._arm_look()
            return None
        if message == "failing":
            return {row.name: row.last_error for row in self._env.state.rows() if row.last_error}
        if message == "ping":
            return "pong"
        raise TypeError(f"sensors actor got an unexpected message {message!r}")

    def _look_around(self) -> None:
        try:
            found = {sensor.name: sensor for sensor in self._env.sensors()}
        except Exception as exc:  # noqa: BLE001 - the registry restarting: look again later
            log.warning("sensor.look_failed", error=f"{type(exc).__name__}: {exc}")
            return
        now = self._env.clock.now()
        for name, sensor in found.items():
            if self._sensors.get(name) is not sensor:
                sensor.check()
                self._env.state.register(sensor)
                row = self._env.state.row(name)
                last = row.last_poll if row is not None else None
                due = (
                    now
                    if last is None
                    else datetime.fromtimestamp(last, UTC) + timedelta(seconds=sensor.interval)
                )
                self._next[name] = due
        self._sensors = found

    def _poll_due(self) -> None:
        now = self._env.clock.now()
        for name, sensor in self._sensors.items():
            due = self._next.get(name)
            if due is not None and due <= now:
                self._next[name] = now + timedelta(seconds=sensor.interval)
                try:
                    self._poll(sensor, now)
                except Exception as exc:  # noqa: BLE001 - the store away: the next interval tries again
                    log.warning("sensor.poll_failed", sensor=name, error=f"{type(exc).__name__}: {exc}")
        self._arm_timer()

    def _poll(self, sensor: SensorDef, now: datetime) -> None:
        state = self._env.state
        row = state.row(sensor.name)
        if row is None or row.paused:
            return
        if not state.holds(sensor.name, self._env.node_id, lease_seconds(sensor.interval)):
            return  # another node polls it
        at = now.timestamp()
        ctx = SensorContext(
            sensor=sensor.name,
            pipeline=sensor.pipeline.name,
            target=sensor.target,
            now=now,
            log=log.bind(sensor=sensor.name),
            resources=self._env.resources,
            store=self._env.store,
        )
        try:
            result = sensor.fn(ctx, row.cursor_value)
            if not isinstance(result, SensorResult):
                raise TypeError(f"a sensor returns fs.SensorResult, got {result!r}")
            committed = state.commit(sensor, row.cursor, result, at)
        except Exception as exc:  # noqa: BLE001 - the user's poll: counted, and tried again
            error = f"{type(exc).__name__}: {exc}"
            state.failed(sensor.name, at, error)
            log.warning("sensor.poll_failed", sensor=sensor.name, error=error, errors=row.errors + 1)
            if self._env.events is not None:
                self._env.events.emit(SensorPollFailed(sensor.name, error, row.errors + 1))
            return
        if committed and result.partitions:
            self._env.on_triggered(sensor)
        log.info("sensor.polled", sensor=sensor.name, partitions=len(result.partitions), committed=committed)
        if committed and self._env.events is not None:
            self._env.events.emit(SensorPolled(sensor.name, len(result.partitions)))

    def _arm_timer(self) -> None:
        when = min(self._next.values(), default=None)
        self._timer, self._timer_at = rearm(
            self.actor_ref, self._env.clock, self._timer, self._timer_at, when
        )

    def _arm_look(self) -> None:
        self._looks.schedule()
