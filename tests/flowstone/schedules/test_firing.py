"""Schedules fire their ticks as runs: once per tick, on any number of nodes, after downtime
by their catch-up policy, and as they are added, paused and removed at run time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from schedule_pipelines import Recorder, reports

import flowstone as fs
from flowstone.testing import ManualClock
from supervisors.testing import wait_for

StartNode = Callable[..., fs.Node]


def hourly(**options: object) -> fs.Schedule:
    return fs.Schedule(
        reports, "hourly", cron="0 * * * *", partition=lambda tick: tick.isoformat(), **options
    )  # type: ignore[arg-type]


def daily(**options: object) -> fs.Schedule:
    return fs.Schedule(reports, "daily", cron="0 6 * * *", **options)  # type: ignore[arg-type]


def settle(node: fs.Node) -> None:
    """Wait until no job of the node's database is still to run (nothing without one)."""
    if node.config.database_url is not None:
        wait_for(
            lambda: all(job.state == "completed" for job in node.jobs.list(limit=10_000)),
            timeout=20.0,
            message="every job completed",
        )


def test_a_tick_runs_its_asset_once_for_the_tick_date(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    node = start_node(backend, schedules=[daily()])
    clock.advance(timedelta(minutes=29))
    assert recorder.seen == []
    clock.advance(timedelta(minutes=1))  # 06:00
    assert recorder.wait(1) == [date(2026, 1, 5)]
    [info] = node.schedules()
    assert info.last_tick == datetime(2026, 1, 5, 6, tzinfo=info.last_tick.tzinfo)  # type: ignore[union-attr]
    assert info.next_fire is not None
    assert info.next_fire.date() == date(2026, 1, 6)
    settle(node)
    assert len(recorder.seen) == 1


def test_a_schedule_added_at_run_time_fires_without_a_restart(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    node = start_node(backend)
    assert node.schedules() == []
    node.add_schedule(hourly())
    assert [info.name for info in node.schedules()] == ["hourly"]
    clock.advance(timedelta(hours=3))
    assert sorted(recorder.wait(3)) == [f"2026-01-05T0{h}:00:00+00:00" for h in (6, 7, 8)]


def test_a_paused_schedule_fires_nothing_and_skips_its_paused_ticks_when_resumed(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    node = start_node(backend, schedules=[hourly()])
    node.pause_schedule("hourly")
    assert node.schedules()[0].paused
    clock.advance(timedelta(hours=3))
    node.resume_schedule("hourly")
    clock.advance(timedelta(minutes=31))  # 09:01
    assert recorder.wait(1) == ["2026-01-05T09:00:00+00:00"]
    settle(node)
    assert len(recorder.seen) == 1


def test_a_removed_schedule_fires_no_more(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    node = start_node(backend, schedules=[hourly()])
    clock.advance(timedelta(hours=1))
    recorder.wait(1)
    node.remove_schedule("hourly")
    assert node.schedules() == []
    clock.advance(timedelta(hours=5))
    settle(node)
    assert len(recorder.seen) == 1
    with pytest.raises(KeyError, match="hourly"):
        node.pause_schedule("hourly")


def test_a_daily_tick_in_the_skipped_hour_fires_once_at_the_end_of_the_gap(
    start_node: StartNode, recorder: Recorder
) -> None:
    berlin = datetime(2026, 3, 28, 12, tzinfo=fs.Schedule(reports, "daily", cron="0 6 * * *").zone)
    clock = ManualClock(berlin)
    schedule = fs.Schedule(
        reports, "daily", cron="30 2 * * *", timezone="Europe/Berlin", partition=lambda tick: tick.isoformat()
    )
    start_node(None, clock=clock, schedules=[schedule])
    clock.advance(timedelta(days=2))
    assert recorder.wait(2) == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("latest", [date(2026, 1, 8)]),
        ("all", [date(2026, 1, 6), date(2026, 1, 7), date(2026, 1, 8)]),
        ("none", []),
    ],
)
def test_each_catch_up_policy_after_a_three_day_outage(
    database_url: str,
    start_node: StartNode,
    clock: ManualClock,
    recorder: Recorder,
    policy: str,
    expected: list[date],
) -> None:
    first = start_node(database_url, schedules=[daily(catch_up=policy)])
    clock.advance(timedelta(hours=1))  # 06:30 on the 5th: one tick
    recorder.wait(1)
    settle(first)
    first.stop()
    clock.advance(timedelta(days=3))  # down until 06:30 on the 8th
    second = start_node(database_url, schedules=[daily(catch_up=policy)])
    if expected:
        recorder.wait(1 + len(expected))
    settle(second)
    assert sorted(recorder.seen) == [date(2026, 1, 5), *expected]  # enqueued oldest first, run by 2
    assert second.schedules()[0].last_tick.date() == date(2026, 1, 8)  # type: ignore[union-attr]
    clock.advance(timedelta(days=1))  # and it goes on as before
    recorder.wait(2 + len(expected))


def test_all_catches_up_at_most_max_catch_up_ticks(
    sqlite_url: str, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    first = start_node(sqlite_url, schedules=[hourly(catch_up="all", max_catch_up=5)])
    first.stop()
    clock.advance(timedelta(days=3))
    start_node(sqlite_url, schedules=[hourly(catch_up="all", max_catch_up=5)])
    assert len(recorder.wait(5)) == 5
    assert sorted(recorder.seen)[-1] == "2026-01-08T05:00:00+00:00"


def test_three_nodes_on_one_postgresql_fire_each_tick_exactly_once(
    postgres_database: str, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    nodes = [start_node(postgres_database, schedules=[hourly()]) for _ in range(3)]
    clock.advance(timedelta(hours=24))
    recorder.wait(24)
    settle(nodes[0])
    assert len(nodes[0].jobs.list(limit=1000)) == 24
    assert sorted(recorder.seen) == sorted(set(recorder.seen))
    assert len(recorder.seen) == 24


def test_a_pause_on_one_node_takes_effect_on_every_node(
    database_url: str, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    carrier = start_node(database_url, schedules=[hourly()])
    other = start_node(database_url)
    other.pause_schedule("hourly")
    clock.advance(timedelta(hours=2))
    settle(carrier)
    assert recorder.seen == []
    other.resume_schedule("hourly")
    wait_for(lambda: not carrier.schedules()[0].paused, message="resumed")
    # The carrier learns of it within one poll interval (and, had the clock passed the
    # tick before it polled, it would catch the tick up as "latest"): the next tick fires.
    clock.advance(timedelta(hours=1))
    assert recorder.wait(1) == ["2026-01-05T08:00:00+00:00"]


def test_a_schedule_that_cannot_fire_for_longer_than_its_interval_is_a_health_warning(
    start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    node = start_node(None, schedules=[hourly()])
    assert node.health().checks["schedules"].ok
    env = node._schedules.env

    def broken(*args: object) -> bool:
        raise RuntimeError("the store is away")

    env.state.fire = broken  # type: ignore[method-assign]
    clock.advance(timedelta(minutes=45))  # 06:15: the 06:00 tick failed, retried every 5 s
    assert node.health().checks["schedules"].ok  # late, but by less than an hour
    clock.advance(timedelta(hours=1))
    check = node.health().checks["schedules"]
    assert not check.ok
    assert "hourly" in check.detail
    assert recorder.seen == []


def test_a_fired_tick_is_an_event(start_node: StartNode, clock: ManualClock, recorder: Recorder) -> None:
    node = start_node(None, schedules=[hourly()])
    events: list[object] = []
    with node.events.subscribe(events.append):
        clock.advance(timedelta(hours=1))
        recorder.wait(1)
    fired = [e for e in events if isinstance(e, fs.events.ScheduleFired)]
    assert fired == [fs.events.ScheduleFired("hourly", ("2026-01-05T06:00:00+00:00",))]
