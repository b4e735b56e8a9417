"""The admission step on a fake clock: reservations, a late start, slots and their wake-up."""

from __future__ import annotations

import queue
from types import SimpleNamespace
from typing import Any

import pytest

import flowstone as fs
from flowstone._admission.gate import LEAD, RATE_PAD, Admission, Wake, wake_due
from flowstone._execution.task import Outcome


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def task(name: str = "a", *, rate: Any = None, slots: Any = None, partition: str = "p") -> Any:
    options = SimpleNamespace(rate=rate, concurrency=slots)
    return SimpleNamespace(
        run_id="r", asset=SimpleNamespace(name=name, options=options), partition_key=partition, attempt=1
    )


def ran(t: Any) -> Outcome:
    return Outcome(t, ok=True, value="ran")


def test_a_start_over_the_rate_waits_for_its_reservation_then_runs_without_asking_again() -> None:
    clock = Clock()
    admission = Admission(clock=clock)
    rate = fs.Rate(2, per=1.0)
    first, second = task(rate=rate, partition="1"), task(rate=rate, partition="2")
    assert admission.run(first, None, ran).ok
    waited = admission.run(second, None, ran)
    interval = 0.5 * (1 + RATE_PAD)
    assert not waited.ok
    assert waited.wait_in == pytest.approx(interval - LEAD)
    clock.now += interval - LEAD
    assert admission.run(second, None, ran).ok  # its reservation, not a new one
    assert admission.limits.reserve_start("rate:a", interval, clock.now) == pytest.approx(
        1000.0 + 2 * interval
    )


def test_a_start_late_for_its_reservation_takes_a_new_one() -> None:
    clock = Clock()
    admission = Admission(clock=clock)
    rate = fs.Rate(1, per=1.0)
    late = task(rate=rate)

    def reach_the_first_line_late(t: Any) -> Outcome:
        clock.now += 0.5  # far past the slack
        wait = admission.start(t)
        return Outcome(t, ok=False, wait_in=wait)

    outcome = admission.run(late, None, reach_the_first_line_late)
    assert outcome.wait_in == pytest.approx((1 + RATE_PAD) - 0.5 - LEAD)


def test_a_slot_refused_registers_its_scheduler_and_a_release_wakes_it() -> None:
    clock = Clock()
    admission = Admission(clock=clock)
    slots = fs.Slots("wh", 1)
    reply: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def inside(t: Any) -> Outcome:
        refused = admission.run(task("b", slots=slots), reply, ran)
        assert not refused.ok
        assert refused.wait_in is not None
        assert refused.wait_in > 0
        return Outcome(t, ok=True)

    assert admission.run(task("a", slots=slots), None, inside).ok
    assert reply.get_nowait() == Wake("wh")  # released: the waiter's scheduler is told
    assert admission.run(task("b", slots=slots), reply, ran).ok


def test_wake_due_makes_only_that_keys_waiters_due() -> None:
    p = fs.Pipeline("wake")

    @p.asset(concurrency=fs.Slots("wh", 1))
    def a(ctx: Any) -> None: ...

    @p.asset(concurrency=fs.Slots("other", 1))
    def b(ctx: Any) -> None: ...

    retries = [(50.0, 1, None, "a", 1), (60.0, 2, None, "b", 1)]
    wake_due(retries, p, "wh", 10.0)
    assert sorted(retries) == [(10.0, 1, None, "a", 1), (60.0, 2, None, "b", 1)]
