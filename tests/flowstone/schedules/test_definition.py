"""``fs.Schedule`` is checked when it is built; ``fs.testing.ManualClock`` moves only when told."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import flowstone as fs
from flowstone.testing import ManualClock


@pytest.fixture
def p() -> fs.Pipeline:
    pipeline = fs.Pipeline("reports")

    @pipeline.asset
    def daily_report(ctx: fs.Context) -> str:
        return "report"

    return pipeline


class TestSchedule:
    def test_a_schedule_defaults_to_utc_latest_and_the_tick_date(self, p: fs.Pipeline) -> None:
        schedule = fs.Schedule(p, "daily_report", cron="0 6 * * *")
        assert (schedule.name, schedule.timezone, schedule.catch_up, schedule.max_catch_up) == (
            "daily_report",
            "UTC",
            "latest",
            100,
        )
        tick = datetime(2026, 5, 1, 6, tzinfo=ZoneInfo("UTC"))
        assert schedule.partition(tick) == date(2026, 5, 1)

    def test_the_next_tick_is_in_the_schedule_zone(self, p: fs.Pipeline) -> None:
        schedule = fs.Schedule(p, "daily_report", cron="0 6 * * *", timezone="Europe/Berlin")
        tick = schedule.next_after(datetime(2026, 5, 1, 12, tzinfo=UTC))
        assert tick.isoformat() == "2026-05-02T06:00:00+02:00"
        assert schedule.interval(tick) == 86400.0

    @pytest.mark.parametrize("cron", ["", "61 * * * *", "every day", "* * *"])
    def test_an_invalid_cron_is_a_definition_error_naming_the_field(self, p: fs.Pipeline, cron: str) -> None:
        with pytest.raises(fs.DefinitionError, match=r"daily_report.*cron"):
            fs.Schedule(p, "daily_report", cron=cron)

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd"])
    def test_an_unknown_zone_is_a_definition_error_naming_the_field(self, p: fs.Pipeline, zone: str) -> None:
        with pytest.raises(fs.DefinitionError, match="timezone"):
            fs.Schedule(p, "daily_report", cron="0 6 * * *", timezone=zone)

    def test_other_bad_fields_are_named(self, p: fs.Pipeline) -> None:
        with pytest.raises(fs.DefinitionError, match="catch_up"):
            fs.Schedule(p, "daily_report", cron="0 6 * * *", catch_up="some")  # type: ignore[arg-type]
        with pytest.raises(fs.DefinitionError, match="max_catch_up"):
            fs.Schedule(p, "daily_report", cron="0 6 * * *", max_catch_up=0)
        with pytest.raises(fs.DefinitionError, match="asset"):
            fs.Schedule(p, "nightly", cron="0 6 * * *")
        with pytest.raises(fs.DefinitionError, match="partition"):
            fs.Schedule(p, "daily_report", cron="0 6 * * *", partition="today")  # type: ignore[arg-type]

    def test_a_schedule_is_frozen(self, p: fs.Pipeline) -> None:
        schedule = fs.Schedule(p, "daily_report", cron="0 6 * * *", name="morning")
        with pytest.raises(AttributeError):
            schedule.cron = "0 7 * * *"  # type: ignore[misc]


class TestManualClock:
    START = datetime(2026, 3, 28, 12, tzinfo=UTC)

    def test_it_needs_an_aware_start(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            ManualClock(datetime(2026, 3, 28, 12))

    def test_it_moves_only_when_advanced_by_seconds_or_a_timedelta(self) -> None:
        clock = ManualClock(self.START)
        assert clock.now() == self.START
        clock.advance(30)
        clock.advance(timedelta(hours=1))
        assert clock.now() == self.START + timedelta(hours=1, seconds=30)
        with pytest.raises(ValueError, match="back"):
            clock.advance(-1)

    def test_callbacks_run_in_time_order_at_their_due_time_and_can_be_cancelled(self) -> None:
        clock = ManualClock(self.START)
        seen: list[datetime] = []
        clock.call_at(self.START + timedelta(minutes=2), lambda: seen.append(clock.now()))  # type: ignore[func-returns-value]
        clock.call_at(self.START + timedelta(minutes=1), lambda: seen.append(clock.now()))  # type: ignore[func-returns-value]
        cancelled = clock.call_at(self.START + timedelta(seconds=30), lambda: seen.append(clock.now()))  # type: ignore[func-returns-value]
        cancelled.cancel()
        clock.advance(timedelta(minutes=5))
        assert seen == [self.START + timedelta(minutes=1), self.START + timedelta(minutes=2)]

    def test_advance_waits_for_what_a_callback_started(self) -> None:
        clock = ManualClock(self.START)
        done = threading.Event()
        seen: list[datetime] = []

        def work() -> None:
            seen.append(clock.now())
            done.set()

        threads: list[threading.Thread] = []

        def wake() -> threading.Event:
            threads.append(threading.Thread(target=work))
            threads[0].start()
            return done

        clock.call_at(self.START + timedelta(seconds=10), wake)
        clock.advance(60)
        threads[0].join()
        assert seen == [self.START + timedelta(seconds=10)]
