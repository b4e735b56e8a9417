"""``SchedulesActor``: the node's child that fires the ticks of the schedules it carries.

It owns the timers and the view of the store's rows; the rows themselves (paused, last
tick) live in the store, shared by every node. One timer waits for the earliest next tick
of all the schedules (a thousand schedules cost one timer, not a thousand); with a
database, a second one re-reads the rows every ``poll_interval`` (real time), so that a
change made on another node takes effect here within one interval; only while the actor
carries a schedule (the rows of schedules it does not carry change nothing here), and told
by one ticker thread for the actor's life, not a timer thread per poll. A tick is claimed by a
compare-and-set of the schedule's last tick in the store, in the transaction that enqueues
its runs: on any number of nodes each tick runs once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import supervisors
from flowstone._jobs.ticker import Ticker
from flowstone._schedules.clock import WallClock
from flowstone._schedules.schedule import Schedule
from flowstone._schedules.state import ScheduleRow, ScheduleState, row_of
from flowstone._schedules.ticks import CatchUp, due_ticks
from flowstone.errors import StoreUnavailableError
from flowstone.events import EventBus, ScheduleFired
from supervisors._log import get_logger

__all__ = ["GRACE", "RETRY", "Add", "ScheduleEnv", "SchedulesActor"]

log = get_logger("flowstone.schedules")

#: A tick due no longer ago than this is on time (fired whatever the catch-up policy).
GRACE = timedelta(seconds=60)
#: When firing failed (the store unreachable), how long until the next try.
RETRY = timedelta(seconds=5)


@dataclass(slots=True, kw_only=True)
class ScheduleEnv:
    """What the actor needs, kept by the node so that a restarted actor finds it again.

    ``definitions`` (name → schedule) is changed only by the actor: the ones the node was
    started with, and those added at run time.
    """

    state: ScheduleState
    clock: WallClock
    poll_interval: float | None  # None: nothing else changes the state (a memory node)
    definitions: dict[str, Schedule] = field(default_factory=dict)
    on_fired: Callable[[Schedule, list[datetime]], None] = lambda schedule, ticks: None
    on_definition: Callable[[Schedule], None] = lambda schedule: None
    events: EventBus | None = None


@dataclass(frozen=True, slots=True)
class Add:
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class _Wake:
    done: threading.Event | None = None


def rearm(
    ref: Any,
    clock: Any,
    timer: supervisors.Cancellable | None,
    timer_at: datetime | None,
    when: datetime | None,
) -> tuple[supervisors.Cancellable | None, datetime | None]:
    """The actor's one timer moved to ``when`` (None: none), telling it ``_Wake(done)``
    then; left as it is when ``when`` has not changed. The new (timer, time)."""
    if when == timer_at:
        return timer, timer_at
    if timer is not None:
        timer.cancel()
    if when is None:
        return None, None

    def wake() -> threading.Event | None:
        done = threading.Event()
        try:
            ref.tell(_Wake(done))
        except Exception:  # noqa: BLE001 - the actor stopped: nothing to wake
            return None
        return done

    return clock.call_at(when, wake), when


def _instant(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SchedulesActor(supervisors.Actor):
    """Fires due ticks; answers ``"refresh"``, ``"late"``, ``"ping"`` and ``Add``."""

    def __init__(self, env: ScheduleEnv) -> None:
        super().__init__()
        self._env = env
        self._rows: dict[str, ScheduleRow] = {}
        self._next: dict[str, datetime] = {}  # the next tick of each active schedule
        self._overdue: dict[str, datetime] = {}  # the tick a failing schedule has owed since
        self._timer: supervisors.Cancellable | None = None
        self._timer_at: datetime | None = None
        self._poller: Ticker | None = None  # tells "poll"; started with the first definition
        self._version: int | None = None  # the state's version at the last refresh
        self._registered = False  # this node's definitions are in the store

    # --- lifecycle ---------------------------------------------------------------------
    def on_start(self) -> None:
        # Armed before the node's start returns, so that no tick can pass unseen. A store
        # that is away does not fail the start (a restart storm would end the node): the
        # polls register and refresh once it is back.
        self._store_work(self._register_and_fire)
        self._arm_poll()
        # Registering the pipelines asks the node's registry, which must not be looked
        # up while the supervisor is starting this child: a message does it next.
        self.actor_ref.tell("start")

    def _start(self) -> None:
        for schedule in self._env.definitions.values():
            self._env.on_definition(schedule)

    def on_stop(self) -> None:
        self._cancel()

    def on_failure(self, *_exc: object) -> None:
        self._cancel()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._poller is not None:
            self._poller.stop()
        self._timer = self._poller = None

    # --- messages ----------------------------------------------------------------------
    def on_receive(self, message: Any) -> Any:
        if isinstance(message, _Wake):
            try:
                self._timer = self._timer_at = None  # it has fired
                self._store_work(self._fire_due)
            finally:
                if message.done is not None:
                    message.done.set()
            return None
        if message == "start":
            self._start()
            return None
        if message == "poll":
            try:
                self._store_work(self._poll_store)
            finally:
                self._arm_poll()
            return None
        if message == "refresh":
            self._refresh()
            self._fire_due()
            return None
        if isinstance(message, Add):
            self._env.state.register(row_of(message.schedule, self._env.clock.now()))
            first = not self._env.definitions
            self._env.definitions[message.schedule.name] = message.schedule
            if first:
                self._arm_poll()  # the first schedule it carries starts the polls
            self._env.on_definition(message.schedule)
            self._next.pop(message.schedule.name, None)
            self._refresh()
            self._fire_due()
            return None
        if message == "late":
            return self._late()
        if message == "ping":
            return "pong"
        raise TypeError(f"schedules actor got an unexpected message {message!r}")

    # --- the work ----------------------------------------------------------------------
    def _store_work(self, work: Callable[[], None]) -> None:
        """Do ``work``; a store that is away is logged and tried again at the next poll."""
        try:
            work()
        except StoreUnavailableError as exc:
            log.warning("schedules.store_unavailable", error=f"{type(exc).__name__}: {exc}")
            self._version = None  # re-read everything once it is back

    def _poll_store(self) -> None:
        if not self._registered:
            self._register_and_fire()
        elif self._env.state.version() != self._version:  # one aggregate when nothing changed
            self._refresh_and_fire()

    def _register_and_fire(self) -> None:
        now = self._env.clock.now()
        for schedule in self._env.definitions.values():
            self._env.state.register(row_of(schedule, now))
        self._registered = True
        self._refresh_and_fire()

    def _refresh_and_fire(self) -> None:
        self._refresh()
        self._fire_due()

    def _refresh(self) -> None:
        """Re-read the rows; a schedule whose row changed gets its next tick recomputed."""
        self._version = self._env.state.version()
        rows = {row.name: row for row in self._env.state.rows()}
        for name, row in rows.items():
            if self._rows.get(name) != row:
                self._next.pop(name, None)
        for name in set(self._rows) - set(rows):
            self._next.pop(name, None)
        self._rows = rows
        for name, row in rows.items():
            if row.removed and name in self._env.definitions:
                del self._env.definitions[name]  # removed on some node: carried by none
                log.info("schedule.removed", schedule=name)

    def _active(self) -> list[tuple[Schedule, ScheduleRow]]:
        active = []
        for name, schedule in self._env.definitions.items():
            row = self._rows.get(name)
            if row is not None and not row.paused and not row.removed:
                active.append((schedule, row))
        return active

    def _fire_due(self) -> None:
        now = self._env.clock.now()
        for schedule, row in self._active():
            upcoming = self._next.get(schedule.name)
            if upcoming is not None and upcoming > now:
                continue
            try:
                self._fire(schedule, row, now)
            except Exception as exc:  # noqa: BLE001 - e.g. the database is away: try again soon
                log.warning(
                    "schedule.fire_failed", schedule=schedule.name, error=f"{type(exc).__name__}: {exc}"
                )
                self._overdue.setdefault(schedule.name, upcoming or now)
                self._next[schedule.name] = now + RETRY
            else:
                self._overdue.pop(schedule.name, None)
        self._arm_timer()

    def _fire(self, schedule: Schedule, row: ScheduleRow, now: datetime) -> None:
        after = _instant(row.last_tick if row.last_tick is not None else row.created_at)
        catch_up: CatchUp = schedule.catch_up
        due = due_ticks(
            schedule.cron,
            schedule.zone,
            after=after,
            now=now,
            catch_up=catch_up,
            max_catch_up=schedule.max_catch_up,
            grace=GRACE,
        )
        passed = due_ticks(
            schedule.cron, schedule.zone, after=after, now=now, catch_up="latest", max_catch_up=1, grace=GRACE
        )
        if passed:
            newest = passed[-1].timestamp()
            if self._env.state.fire(schedule, row.last_tick, newest, due):
                self._env.on_fired(schedule, due)
                if due and self._env.events is not None:
                    self._env.events.emit(ScheduleFired(schedule.name, tuple(t.isoformat() for t in due)))
                for tick in due:
                    log.info("schedule.fired", schedule=schedule.name, tick=tick.isoformat())
                if not due:
                    log.info("schedule.skipped", schedule=schedule.name, tick=passed[-1].isoformat())
            fresh = self._env.state.row(schedule.name)  # ours, or the node's that won
            if fresh is not None:
                self._rows[schedule.name] = fresh
                row = fresh
            after = _instant(row.last_tick) if row.last_tick is not None else after
        self._next[schedule.name] = schedule.next_after(max(after, now))

    def _arm_timer(self) -> None:
        upcoming = [self._next[s.name] for s, _ in self._active() if s.name in self._next]
        when = min(upcoming, default=None)
        self._timer, self._timer_at = rearm(
            self.actor_ref, self._env.clock, self._timer, self._timer_at, when
        )

    def _arm_poll(self) -> None:
        """Poll in ``poll_interval`` while the actor carries a schedule (``Add`` starts it).

        Without one a poll could change nothing here, and an idle node polled for nothing:
        a read and a timer thread every interval (issue 22, about a fifth of an idle
        node's CPU at ``poll_interval=0.05``).
        """
        interval = self._env.poll_interval
        if interval is None or not self._env.definitions:
            return
        if self._poller is None:
            self._poller = Ticker(self.actor_ref, time.monotonic, "schedules-poll")
        self._poller.arm("poll", interval)

    def _late(self) -> dict[str, float]:
        """Active schedules whose next tick is overdue by more than their interval: seconds late."""
        now = self._env.clock.now()
        late = {}
        for schedule, _ in self._active():
            owed = self._overdue.get(schedule.name, self._next.get(schedule.name))
            if owed is not None and (now - owed).total_seconds() > schedule.interval(owed):
                late[schedule.name] = (now - owed).total_seconds()
        return late
