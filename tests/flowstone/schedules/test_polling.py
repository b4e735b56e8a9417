"""[issue 22] The schedules actor polls the store only while it carries a schedule: an idle
node with none read the schedules' revision every ``poll_interval`` for nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from schedule_pipelines import reports

import flowstone as fs
from flowstone._schedules.actor import Add, ScheduleEnv, SchedulesActor
from flowstone._schedules.state import MemoryScheduleState
from flowstone.testing import ManualClock
from supervisors.testing import wait_for

POLL = 0.005  # seconds: a hundred polls would be due in the window below


class CountingState(MemoryScheduleState):
    """Memory rows that count the polls' revision reads."""

    def __init__(self) -> None:
        super().__init__(lambda schedule, tick: None)
        self.reads = 0

    def version(self) -> int:
        self.reads += 1
        return super().version()


@pytest.fixture
def state() -> CountingState:
    return CountingState()


@pytest.fixture
def actor(state: CountingState) -> Iterator[Any]:
    env = ScheduleEnv(state=state, clock=ManualClock(datetime(2026, 1, 5, tzinfo=UTC)), poll_interval=POLL)
    ref = SchedulesActor.start(env)
    try:
        yield ref
    finally:
        ref.stop()


def test_an_actor_carrying_no_schedule_reads_nothing_between_messages(
    actor: Any, state: CountingState
) -> None:
    actor.ask("ping")
    before = state.reads
    # A window in which a poll would have read the revision about a hundred times: the
    # assertion is that nothing happens in it, so it is a bounded wait, not a sync point.
    threading.Event().wait(100 * POLL)
    actor.ask("ping")
    assert state.reads == before


def test_a_schedule_added_at_run_time_starts_the_polls(actor: Any, state: CountingState) -> None:
    schedule = fs.Schedule(reports, "hourly", cron="0 * * * *", partition=lambda tick: tick.isoformat())
    actor.ask(Add(schedule))
    after_add = state.reads
    wait_for(lambda: state.reads >= after_add + 3, timeout=5.0, message="three polls after the add")
