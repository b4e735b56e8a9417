"""Cron ticks as plain functions: DST in two zones, catch-up policies, properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowstone._schedules.ticks import due_ticks, iter_ticks, to_instant

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
GRACE = timedelta(seconds=60)


def ticks(cron: str, zone: ZoneInfo, after: datetime, count: int) -> list[str]:
    return [tick.isoformat() for tick in islice(iter_ticks(cron, zone, after), count)]


class TestDaylightSaving:
    def test_a_daily_tick_in_the_skipped_hour_fires_once_at_the_end_of_the_gap_in_berlin(self) -> None:
        assert ticks("30 2 * * *", BERLIN, datetime(2026, 3, 28, tzinfo=BERLIN), 3) == [
            "2026-03-28T02:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ]

    def test_a_daily_tick_in_the_skipped_hour_fires_once_at_the_end_of_the_gap_in_new_york(self) -> None:
        assert ticks("15 2 * * *", NEW_YORK, datetime(2026, 3, 7, 12, tzinfo=NEW_YORK), 3) == [
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:15:00-04:00",
            "2026-03-10T02:15:00-04:00",
        ]

    def test_ticks_inside_the_gap_collapse_into_one(self) -> None:
        assert ticks("*/30 * * * *", BERLIN, datetime(2026, 3, 29, 1, tzinfo=BERLIN), 4) == [
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
            "2026-03-29T04:00:00+02:00",
        ]

    def test_a_tick_in_the_repeated_hour_fires_once_in_berlin(self) -> None:
        assert ticks("30 2 * * *", BERLIN, datetime(2026, 10, 24, 12, tzinfo=BERLIN), 3) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
            "2026-10-27T02:30:00+01:00",
        ]

    def test_an_hourly_schedule_fires_the_repeated_hour_once_in_new_york(self) -> None:
        assert ticks("0 * * * *", NEW_YORK, datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), 3) == [
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T02:00:00-05:00",
            "2026-11-01T03:00:00-05:00",
        ]

    def test_a_tick_inside_the_repeated_hour_is_not_given_again_when_starting_in_its_second_pass(
        self,
    ) -> None:
        second_pass = datetime(2026, 11, 1, 1, 40, tzinfo=NEW_YORK, fold=1)  # 01:40 EST
        assert ticks("30 1 * * *", NEW_YORK, second_pass, 1) == ["2026-11-02T01:30:00-05:00"]

    def test_a_wall_clock_time_that_exists_maps_to_itself(self) -> None:
        wall = datetime(2026, 7, 1, 6, 0)
        assert to_instant(wall, BERLIN) == datetime(2026, 7, 1, 6, 0, tzinfo=BERLIN)


def due(catch_up: str, *, after: datetime, now: datetime, cron: str = "0 * * * *", most: int = 100) -> int:
    return len(
        due_ticks(cron, UTC, after=after, now=now, catch_up=catch_up, max_catch_up=most, grace=GRACE)  # type: ignore[arg-type]
    )


class TestCatchUp:
    NOW = datetime(2026, 1, 4, 7, 30, tzinfo=UTC)
    OUTAGE = NOW - timedelta(days=3)

    def test_latest_runs_only_the_most_recent_missed_tick(self) -> None:
        fired = due_ticks(
            "0 * * * *",
            UTC,
            after=self.OUTAGE,
            now=self.NOW,
            catch_up="latest",
            max_catch_up=100,
            grace=GRACE,
        )
        assert fired == [datetime(2026, 1, 4, 7, tzinfo=UTC)]

    def test_all_runs_every_missed_tick_oldest_first_up_to_the_cap(self) -> None:
        fired = due_ticks(
            "0 6 * * *", UTC, after=self.OUTAGE, now=self.NOW, catch_up="all", max_catch_up=100, grace=GRACE
        )
        assert fired == [datetime(2026, 1, day, 6, tzinfo=UTC) for day in (2, 3, 4)]
        assert due("all", after=self.OUTAGE, now=self.NOW) == 72
        assert due("all", after=self.OUTAGE, now=self.NOW, most=10) == 10

    def test_all_keeps_the_newest_ticks_when_capped(self) -> None:
        fired = due_ticks(
            "0 * * * *", UTC, after=self.OUTAGE, now=self.NOW, catch_up="all", max_catch_up=2, grace=GRACE
        )
        assert fired == [datetime(2026, 1, 4, 6, tzinfo=UTC), datetime(2026, 1, 4, 7, tzinfo=UTC)]

    def test_none_runs_no_missed_tick(self) -> None:
        assert due("none", after=self.OUTAGE, now=self.NOW) == 0

    def test_every_policy_fires_a_tick_that_is_on_time(self) -> None:
        on_time = datetime(2026, 1, 4, 7, 0, 5, tzinfo=UTC)
        for policy in ("latest", "all", "none"):
            assert due(policy, after=self.OUTAGE, now=on_time) >= 1
            assert due(policy, after=on_time - timedelta(minutes=1), now=on_time) == 1

    def test_nothing_is_due_before_the_first_tick(self) -> None:
        assert due("all", after=self.NOW, now=self.NOW + timedelta(minutes=29)) == 0


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    zone=st.sampled_from([BERLIN, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), UTC]),
    cron=st.sampled_from(["0 * * * *", "*/20 * * * *", "30 2 * * *", "0 6 * * 1-5", "45 1 * * *"]),
)
def test_ticks_strictly_increase_and_are_never_more_than_a_week_and_a_day_apart(
    start: datetime, zone: ZoneInfo, cron: str
) -> None:
    after = start.replace(tzinfo=UTC)
    previous = after
    for tick in islice(iter_ticks(cron, zone, after), 6):
        assert tick > previous
        assert tick - previous <= timedelta(days=8)
        assert tick.tzinfo is zone
        previous = tick


@pytest.mark.parametrize("policy", ["latest", "all", "none"])
@settings(max_examples=30, deadline=None)
@given(hours=st.integers(min_value=0, max_value=200))
def test_due_ticks_are_sorted_unique_and_inside_the_window(policy: str, hours: int) -> None:
    after = datetime(2026, 3, 27, tzinfo=UTC)
    now = after + timedelta(hours=hours, minutes=17)
    fired = due_ticks(
        "0 * * * *",
        BERLIN,
        after=after,
        now=now,
        catch_up=policy,
        max_catch_up=50,
        grace=GRACE,  # type: ignore[arg-type]
    )
    assert fired == sorted(set(fired))
    assert all(after < tick <= now for tick in fired)
    assert len(fired) <= {"all": 50, "latest": 1, "none": 0}[policy]
