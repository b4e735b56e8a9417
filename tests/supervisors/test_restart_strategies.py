"""Restarts of a static supervisor: the restart table, strategies, intensity, escalation.

Ports of OTP ``supervisor_SUITE`` behaviours 15-26 (see
``../shared/reference/otp-supervision.md`` §2), plus escalation through nested
supervisors (§1.5: a supervisor that gives up exits with ``shutdown``, so only a
permanent parent entry restarts it). Intensity windows run on a ``ManualClock``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from supervision_support import Harness, Starter, counts

from supervisors import (
    ChildSpec,
    Crashed,
    Down,
    ExitReason,
    Normal,
    Shutdown,
    Supervisor,
    SupervisorRef,
    monitor,
)
from supervisors.testing import CrashWorker, ManualClock, wait_for, wait_until_restarted


def end(ref: Any, how: str) -> ExitReason:
    """Make the worker behind ``ref`` end in the way named; the reason it should report."""
    if how == "normal":
        ref.stop()
        return Normal()
    if how == "shutdown":
        CrashWorker.finish_with(ref)
        return Shutdown()
    if how == "shutdown_info":
        CrashWorker.finish_with(ref, "done")
        return Shutdown("done")
    error = RuntimeError("boom")
    CrashWorker.crash(ref, error)
    return Crashed(error)


ALL_EXITS = ["normal", "shutdown", "shutdown_info", "crash"]
CLEAN_EXITS = ["normal", "shutdown", "shutdown_info"]


def crash_and_wait(sup: SupervisorRef, child_id: str) -> Any:
    """Crash a child and return its replacement."""
    old = sup.whereis(child_id)
    CrashWorker.crash(old)
    return wait_until_restarted(sup, child_id, previous=old)


def crash_until_gone(sup: SupervisorRef, child_id: str, crashes: int) -> None:
    """Crash a child ``crashes`` times, waiting for each restart but the last."""
    for number in range(crashes):
        if number < crashes - 1:
            crash_and_wait(sup, child_id)
        else:
            CrashWorker.crash(sup.whereis(child_id))


# --- the restart table -----------------------------------------------------------------


class TestRestartTable:
    @pytest.mark.parametrize("how", ALL_EXITS)
    def test_permanent_child_is_restarted_after_any_exit(self, harness: Harness, how: str) -> None:
        """OTP supervisor_SUITE: permanent_normal, permanent_shutdown, permanent_abnormal."""
        sup = harness.start([CrashWorker.spec("w")])
        old = sup.whereis("w")
        reason = end(old, how)
        new = wait_until_restarted(sup, "w", previous=old)
        assert new.ask("ping") == "pong"
        assert old.exit_reason == reason
        info = sup.which_child("w")
        assert info.restarts == 1
        assert info.last_exit == reason
        assert sup.count_children() == counts(1, 1, 0, 1)

    @pytest.mark.parametrize("how", CLEAN_EXITS)
    def test_transient_child_is_not_restarted_after_a_clean_exit(self, harness: Harness, how: str) -> None:
        """OTP supervisor_SUITE: transient_normal, transient_shutdown."""
        sup = harness.start([CrashWorker.spec("w", restart="transient")])
        old = sup.whereis("w")
        reason = end(old, how)
        wait_for(lambda: sup.which_child("w").last_exit == reason, 5.0)
        info = sup.which_child("w")
        assert info.status == "terminated"
        assert info.ref is None
        assert info.restarts == 0
        assert sup.count_children() == counts(1, 0, 0, 1)
        new = sup.restart_child("w")
        assert new is not old
        assert new.ask("ping") == "pong"

    def test_transient_child_is_restarted_after_a_crash(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: transient_abnormal."""
        sup = harness.start([CrashWorker.spec("w", restart="transient")])
        old = sup.whereis("w")
        reason = end(old, "crash")
        new = wait_until_restarted(sup, "w", previous=old)
        assert new.ask("ping") == "pong"
        assert sup.which_child("w").last_exit == reason
        assert sup.count_children() == counts(1, 1, 0, 1)

    @pytest.mark.parametrize("how", ALL_EXITS)
    def test_temporary_child_is_never_restarted_and_its_spec_is_dropped(
        self, harness: Harness, how: str
    ) -> None:
        """OTP supervisor_SUITE: temporary_normal, temporary_shutdown, temporary_abnormal."""
        spec = CrashWorker.spec("w", restart="temporary")
        sup = harness.start([spec])
        old = sup.whereis("w")
        reason = end(old, how)
        wait_for(lambda: sup.count_children()["specs"] == 0, 5.0)
        assert old.exit_reason == reason
        assert sup.which_children() == []
        assert sup.count_children() == counts(0, 0, 0, 0)
        again = sup.start_child(spec)
        assert again.ask("ping") == "pong"
        assert sup.count_children() == counts(1, 1, 0, 1)

    @pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
    def test_temporary_bystander_is_terminated_and_not_restarted(
        self, harness: Harness, strategy: str
    ) -> None:
        """OTP supervisor_SUITE: temporary_bystander."""
        sup = harness.start(
            [CrashWorker.spec("c1"), CrashWorker.spec("c2", restart="temporary")],
            strategy=strategy,
            max_restarts=2,
            max_seconds=300,
        )
        c1 = sup.whereis("c1")
        c2 = sup.whereis("c2")
        c1.stop()
        new_c1 = wait_until_restarted(sup, "c1", previous=c1)
        assert c2.wait_for_exit(5.0)
        assert c2.exit_reason == Shutdown()
        assert [info.id for info in sup.which_children()] == ["c1"]
        assert new_c1.ask("ping") == "pong"
        assert sup.is_alive()


# --- restart intensity -----------------------------------------------------------------


class TestRestartIntensity:
    def test_restarts_spread_wider_than_the_period_never_trip_the_limit(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: multiple_restarts."""
        sup = harness.start([CrashWorker.spec("w")], max_restarts=1, max_seconds=1, clock=clock)
        for _ in range(4):
            crash_and_wait(sup, "w")
            clock.advance(2.1)
        assert sup.is_alive()
        assert sup.which_child("w").restarts == 4

    def test_restarts_within_the_period_trip_the_limit(self, harness: Harness, clock: ManualClock) -> None:
        """OTP supervisor_SUITE: multiple_restarts (the window is not reset by time alone)."""
        sup = harness.start([CrashWorker.spec("w")], max_restarts=1, max_seconds=1, clock=clock)
        crash_and_wait(sup, "w")
        clock.advance(0.5)
        CrashWorker.crash(sup.whereis("w"))
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()

    def test_zero_max_restarts_gives_up_at_the_first_crash(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: one_for_one (intensity 0: the first restart is refused)."""
        sup = harness.start([CrashWorker.spec("w")], max_restarts=0, clock=clock)
        CrashWorker.crash(sup.whereis("w"))
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()

    def test_intensity_counts_restarts_of_all_children_together(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: one_for_one (the window is per supervisor, not per child)."""
        sup = harness.start(
            [CrashWorker.spec("a"), CrashWorker.spec("b")],
            max_restarts=1,
            max_seconds=60,
            clock=clock,
        )
        crash_and_wait(sup, "a")
        b = sup.whereis("b")
        CrashWorker.crash(b)
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()


# --- one_for_one ---------------------------------------------------------------------


class TestOneForOne:
    def test_crashing_one_child_restarts_only_that_child(self, harness: Harness, clock: ManualClock) -> None:
        """OTP supervisor_SUITE: one_for_one."""
        sup = harness.start(
            [CrashWorker.spec("c1"), CrashWorker.spec("c2")],
            max_restarts=2,
            max_seconds=3600,
            clock=clock,
        )
        c2 = sup.whereis("c2")
        new_c1 = crash_and_wait(sup, "c1")
        assert new_c1.ask("ping") == "pong"
        assert sup.whereis("c2") is c2
        assert sup.count_children() == counts(2, 2, 0, 2)

    def test_a_third_crash_within_the_window_ends_the_supervisor(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: one_for_one."""
        sup = harness.start(
            [CrashWorker.spec("c1"), CrashWorker.spec("c2")],
            max_restarts=2,
            max_seconds=3600,
            clock=clock,
        )
        c2 = sup.whereis("c2")
        crash_until_gone(sup, "c1", 3)
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()
        assert c2.exit_reason == Shutdown()


# --- one_for_all ---------------------------------------------------------------------


class TestOneForAll:
    def test_crashing_one_child_restarts_all_children(self, harness: Harness, clock: ManualClock) -> None:
        """OTP supervisor_SUITE: one_for_all."""
        sup = harness.start(
            [CrashWorker.spec("c1"), CrashWorker.spec("c2")],
            strategy="one_for_all",
            max_restarts=2,
            max_seconds=3600,
            clock=clock,
        )
        c1 = sup.whereis("c1")
        c2 = sup.whereis("c2")
        CrashWorker.crash(c1)
        new_c1 = wait_until_restarted(sup, "c1", previous=c1)
        new_c2 = wait_until_restarted(sup, "c2", previous=c2)
        assert c2.exit_reason == Shutdown()
        listed = [info.ref for info in sup.which_children()]
        assert c1 not in listed
        assert c2 not in listed
        assert new_c1.ask("ping") == "pong"
        assert new_c2.ask("ping") == "pong"
        assert sup.count_children() == counts(2, 2, 0, 2)

    def test_a_third_crash_within_the_window_ends_the_supervisor(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: one_for_all."""
        sup = harness.start(
            [CrashWorker.spec("c1"), CrashWorker.spec("c2")],
            strategy="one_for_all",
            max_restarts=2,
            max_seconds=3600,
            clock=clock,
        )
        crash_until_gone(sup, "c1", 3)
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()

    def test_a_sibling_failing_to_restart_makes_the_whole_group_restart_again(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: one_for_all_other_child_fails_restart."""
        events: list[str] = []
        c1 = Starter("c1", events=events)
        c2 = Starter("c2", events=events, fails=lambda call: call == 2)
        sup = harness.start(
            [c1.spec(), c2.spec()],
            strategy="one_for_all",
            max_restarts=10,
            max_seconds=3600,
            clock=clock,
        )
        events.clear()
        CrashWorker.crash(c1.refs[0])
        wait_until_restarted(sup, "c2", previous=c2.refs[0])
        assert events == [
            "crash:c1",
            "stop:c2",
            "start:c1",
            "fail:c2",
            "stop:c1",
            "start:c1",
            "start:c2",
        ]
        assert c1.refs[1].exit_reason == Shutdown()
        assert sup.whereis("c1") is c1.refs[2]
        assert sup.whereis("c2") is c2.refs[1]
        assert sup.count_children() == counts(2, 2, 0, 2)


# --- rest_for_one --------------------------------------------------------------------


class TestRestForOne:
    def test_crashing_a_child_restarts_it_and_the_children_after_it(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: rest_for_one."""
        sup = harness.start(
            [CrashWorker.spec("c1"), CrashWorker.spec("c2"), CrashWorker.spec("c3")],
            strategy="rest_for_one",
            max_restarts=2,
            max_seconds=3600,
            clock=clock,
        )
        c1, c2, c3 = (sup.whereis(i) for i in ("c1", "c2", "c3"))
        CrashWorker.crash(c2)
        new_c2 = wait_until_restarted(sup, "c2", previous=c2)
        new_c3 = wait_until_restarted(sup, "c3", previous=c3)
        assert c3.exit_reason == Shutdown()
        assert sup.whereis("c1") is c1
        assert new_c2.ask("ping") == "pong"
        assert new_c3.ask("ping") == "pong"
        assert sup.count_children() == counts(3, 3, 0, 3)

    def test_two_more_crashes_within_the_window_end_the_supervisor(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: rest_for_one."""
        sup = harness.start(
            [CrashWorker.spec("c1"), CrashWorker.spec("c2"), CrashWorker.spec("c3")],
            strategy="rest_for_one",
            max_restarts=2,
            max_seconds=3600,
            clock=clock,
        )
        c1 = sup.whereis("c1")
        crash_until_gone(sup, "c2", 3)
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()
        assert c1.exit_reason == Shutdown()

    def test_a_later_child_failing_to_restart_is_retried_alone(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: rest_for_one_other_child_fails_restart."""
        events: list[str] = []
        c1 = Starter("c1", events=events)
        c2 = Starter("c2", events=events, fails=lambda call: call == 2)
        sup = harness.start(
            [c1.spec(), c2.spec()],
            strategy="rest_for_one",
            max_restarts=10,
            max_seconds=3600,
            clock=clock,
        )
        events.clear()
        CrashWorker.crash(c1.refs[0])
        wait_until_restarted(sup, "c2", previous=c2.refs[0])
        assert events == ["crash:c1", "stop:c2", "start:c1", "fail:c2", "start:c2"]
        assert c1.calls == 2
        assert sup.whereis("c1") is c1.refs[1]
        assert c1.refs[1].ask("ping") == "pong"

    def test_restart_terminates_later_children_in_reverse_and_restarts_in_order(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: order_of_children."""
        events: list[str] = []
        ids = ["p3", "a1", "z9", "m5", "b2"]
        sup = harness.start(
            [CrashWorker.spec(i, events=events) for i in ids],
            strategy="rest_for_one",
            clock=clock,
        )
        assert events == [f"start:{i}" for i in ids]
        first, second = sup.whereis("p3"), sup.whereis("a1")
        last = sup.whereis("b2")
        events.clear()
        CrashWorker.crash(sup.whereis("z9"))
        wait_until_restarted(sup, "b2", previous=last)
        assert events == [
            "crash:z9",
            "stop:b2",
            "stop:m5",
            "start:z9",
            "start:m5",
            "start:b2",
        ]
        assert sup.whereis("p3") is first
        assert sup.whereis("a1") is second


# --- failed restarts escalate --------------------------------------------------------


class TestEscalation:
    def test_one_for_one_child_that_never_restarts_exhausts_the_intensity(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: one_for_one_escalation."""
        stable = Starter("stable")
        failing = Starter("failing", fails=lambda call: call > 1)
        sup = harness.start([stable.spec(), failing.spec()], max_restarts=4, max_seconds=3600, clock=clock)
        CrashWorker.crash(failing.refs[0])
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()
        assert failing.calls == 1 + 4
        assert stable.refs[0].exit_reason == Shutdown()

    def test_one_for_all_sibling_that_never_restarts_exhausts_the_intensity(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: one_for_all_escalation."""
        c1 = Starter("c1")
        c2 = Starter("c2", fails=lambda call: call > 1)
        sup = harness.start(
            [c1.spec(), c2.spec()],
            strategy="one_for_all",
            max_restarts=4,
            max_seconds=3600,
            clock=clock,
        )
        CrashWorker.crash(c1.refs[0])
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()
        assert c2.calls == 1 + 4
        assert c1.calls == 1 + 4
        for ref in c1.refs:
            assert ref.wait_for_exit(5.0)
        assert [ref.exit_reason for ref in c1.refs[1:]] == [Shutdown()] * 4

    def test_rest_for_one_sibling_that_never_restarts_exhausts_the_intensity(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: rest_for_one_escalation."""
        c1 = Starter("c1")
        c2 = Starter("c2", fails=lambda call: call > 1)
        sup = harness.start(
            [c1.spec(), c2.spec()],
            strategy="rest_for_one",
            max_restarts=4,
            max_seconds=3600,
            clock=clock,
        )
        CrashWorker.crash(c1.refs[0])
        assert sup.wait_for_exit(5.0)
        assert sup.exit_reason == Shutdown()
        assert c2.calls == 1 + 4
        assert c1.calls == 2
        assert c1.refs[1].exit_reason == Shutdown()


# --- nested supervisors --------------------------------------------------------------


class TestNestedEscalation:
    @staticmethod
    def _inner_start(clock: ManualClock, started: list[SupervisorRef]) -> Callable[[], Any]:
        def start() -> SupervisorRef:
            inner = Supervisor.start([CrashWorker.spec("w")], max_restarts=0, name="inner", clock=clock)
            started.append(inner)
            return inner

        return start

    def test_child_supervisor_giving_up_exits_with_shutdown_and_a_permanent_entry_restarts_it(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """Elixir Supervisor docs, "Exit reasons and restarts" (OTP §1.5 escalation)."""
        started: list[SupervisorRef] = []
        outer = harness.start(
            [
                CrashWorker.spec("sibling"),
                ChildSpec("inner", self._inner_start(clock, started), type="supervisor"),
            ],
            clock=clock,
            name="outer",
        )
        sibling = outer.whereis("sibling")
        inner = outer.whereis("inner")
        assert inner is started[0]
        downs: list[Down] = []
        monitor(inner, downs.append)
        CrashWorker.crash(inner.whereis("w"))
        assert inner.wait_for_exit(5.0)
        assert downs == [Down(inner, Shutdown())]
        new_inner = wait_until_restarted(outer, "inner", previous=inner)
        assert new_inner is started[1]
        assert new_inner.whereis("w").ask("ping") == "pong"
        info = outer.which_child("inner")
        assert info.last_exit == Shutdown()
        assert info.restarts == 1
        assert outer.whereis("sibling") is sibling
        assert outer.is_alive()

    def test_transient_child_supervisor_that_gives_up_stays_down(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """Elixir Supervisor docs, "Exit reasons and restarts" (OTP §1.5 escalation)."""
        started: list[SupervisorRef] = []
        outer = harness.start(
            [
                ChildSpec(
                    "inner",
                    self._inner_start(clock, started),
                    type="supervisor",
                    restart="transient",
                )
            ],
            clock=clock,
            name="outer",
        )
        inner = outer.whereis("inner")
        CrashWorker.crash(inner.whereis("w"))
        assert inner.wait_for_exit(5.0)
        assert inner.exit_reason == Shutdown()
        wait_for(lambda: outer.which_child("inner").last_exit == Shutdown(), 5.0)
        info = outer.which_child("inner")
        assert info.status == "terminated"
        assert info.ref is None
        assert len(started) == 1
        assert outer.count_children() == counts(1, 0, 1, 0)
        assert outer.is_alive()

    def test_repeated_escalations_exhaust_the_parent_which_gives_up_in_turn(
        self, harness: Harness, clock: ManualClock
    ) -> None:
        """OTP supervisor_SUITE: tree (escalation up the tree)."""
        started: list[SupervisorRef] = []
        outer = harness.start(
            [ChildSpec("inner", self._inner_start(clock, started), type="supervisor")],
            max_restarts=1,
            clock=clock,
            name="outer",
        )
        inner = outer.whereis("inner")
        CrashWorker.crash(inner.whereis("w"))
        second = wait_until_restarted(outer, "inner", previous=inner)
        CrashWorker.crash(second.whereis("w"))
        assert outer.wait_for_exit(5.0)
        assert outer.exit_reason == Shutdown()
        assert len(started) == 2
        assert all(not sup.is_alive() for sup in started)
