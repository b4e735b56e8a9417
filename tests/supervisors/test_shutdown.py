"""Shutting down a static supervisor and its children: order, budgets, exit reasons.

Ports of OTP ``supervisor_SUITE`` behaviours 9-11, 26 (stop order) and 30 (adapted), see
``../shared/reference/otp-supervision.md`` §2 and §1.6. Python threads cannot be killed:
a child that misses its budget is reported ``Killed()`` and abandoned, and its
supervisor never runs a second instance of it while the old thread lives.
"""

from __future__ import annotations

import threading
import time

import pytest
from supervision_support import CountingStart, Harness, HolderStart

from supervisors import (
    ChildSpec,
    Crashed,
    Down,
    Killed,
    Normal,
    Shutdown,
    Supervisor,
    SupervisorError,
    SupervisorRef,
    monitor,
)
from supervisors.testing import CrashWorker, ManualClock, wait_until_restarted

BUDGET = 0.2


# --- order ---------------------------------------------------------------------------


class TestShutdownOrder:
    def test_stopping_a_supervisor_stops_children_in_reverse_declaration_order(self) -> None:
        """OTP supervisor_SUITE: order_of_children (stop order)."""
        events: list[str] = []
        ids = ["p3", "a1", "z9", "m5", "b2"]
        sup = Supervisor.start([CrashWorker.spec(i, events=events) for i in ids])
        refs = [sup.whereis(i) for i in ids]
        events.clear()
        assert sup.stop(timeout=5.0)
        assert events == [f"stop:{i}" for i in reversed(ids)]
        assert [ref.exit_reason for ref in refs] == [Shutdown()] * len(ids)
        assert sup.exit_reason == Normal()

    def test_stopping_a_parent_stops_a_child_supervisor_with_its_children_in_order(
        self,
    ) -> None:
        """OTP supervisor_SUITE: sup_stop_infinity (a supervisor child, stopped in order)."""
        events: list[str] = []

        def start_inner() -> SupervisorRef:
            return Supervisor.start(
                [CrashWorker.spec("x", events=events), CrashWorker.spec("y", events=events)],
                name="inner",
            )

        sup = Supervisor.start(
            [
                CrashWorker.spec("a", events=events),
                ChildSpec("inner", start_inner, type="supervisor"),
                CrashWorker.spec("b", events=events),
            ],
            name="outer",
        )
        inner = sup.whereis("inner")
        x = inner.whereis("x")
        downs: list[Down] = []
        monitor(inner, downs.append)
        events.clear()
        assert sup.stop(timeout=5.0)
        assert events == ["stop:b", "stop:y", "stop:x", "stop:a"]
        assert downs == [Down(inner, Shutdown())]
        assert inner.exit_reason == Shutdown()
        assert x.exit_reason == Shutdown()
        assert sup.exit_reason == Normal()


# --- shutdown values -------------------------------------------------------------------


class TestShutdownValues:
    def test_infinity_children_worker_or_supervisor_exit_with_shutdown(self) -> None:
        """OTP supervisor_SUITE: sup_stop_infinity."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("worker", shutdown="infinity"),
                ChildSpec(
                    "sup",
                    lambda: Supervisor.start([CrashWorker.spec("w")], name="inner"),
                    type="supervisor",
                ),
            ]
        )
        worker = sup.whereis("worker")
        inner = sup.whereis("sup")
        grandchild = inner.whereis("w")
        assert sup.get_childspec("sup").shutdown == "infinity"
        assert sup.stop(timeout=5.0)
        assert worker.exit_reason == Shutdown()
        assert inner.exit_reason == Shutdown()
        assert grandchild.exit_reason == Shutdown()

    def test_brutal_kill_children_are_reported_killed_and_a_timeout_sibling_shutdown(
        self,
    ) -> None:
        """OTP supervisor_SUITE: sup_stop_brutal_kill."""
        ids = [f"brutal{n}" for n in range(5)]
        sup = Supervisor.start(
            [CrashWorker.spec("timeout", shutdown=1.0)]
            + [CrashWorker.spec(i, shutdown="brutal_kill") for i in ids]
        )
        sibling = sup.whereis("timeout")
        brutal = [sup.whereis(i) for i in ids]
        downs: list[Down] = []
        for ref in brutal:
            monitor(ref, downs.append)
        assert sup.stop(timeout=5.0)
        for ref in brutal:
            assert ref.wait_for_exit(5.0)
            assert ref.exit_reason == Killed()
        assert sorted(d.reason.describe() for d in downs) == ["killed"] * len(ids)
        assert {id(d.ref) for d in downs} == {id(ref) for ref in brutal}
        assert sibling.exit_reason == Shutdown()

    def test_a_slow_but_compliant_child_within_its_budget_ends_with_shutdown(self) -> None:
        """OTP supervisor_SUITE: sup_stop_race (1 s cleanup within a 2 s budget, scaled)."""
        sup = Supervisor.start([CrashWorker.spec("slow", shutdown=2.0, stop_delay=0.1)])
        slow = sup.whereis("slow")
        assert sup.stop(timeout=5.0)
        assert slow.exit_reason == Shutdown()


# --- budgets -------------------------------------------------------------------------


class TestShutdownTimeout:
    def test_a_child_stuck_in_a_message_is_killed_at_its_budget_and_a_cooperative_one_is_not(
        self, harness: Harness
    ) -> None:
        """OTP supervisor_SUITE: sup_stop_timeout."""
        stuck = HolderStart(harness)
        sup = Supervisor.start(
            [
                CrashWorker.spec("cooperative", shutdown=BUDGET),
                ChildSpec("stuck", stuck, shutdown=BUDGET),
            ]
        )
        cooperative = sup.whereis("cooperative")
        held = sup.whereis("stuck")
        downs: list[Down] = []
        monitor(held, downs.append)
        held.tell("hold")
        assert stuck.held.wait(5.0)
        began = time.monotonic()
        assert sup.stop(timeout=5.0)
        elapsed = time.monotonic() - began
        assert BUDGET <= elapsed < 2.0
        assert cooperative.exit_reason == Shutdown()
        stuck.release.set()
        assert held.wait_for_exit(5.0)
        assert held.exit_reason == Killed()
        assert downs == [Down(held, Killed())]

    def test_a_child_stuck_in_on_stop_is_killed_at_its_budget(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_stop_timeout (a child whose cleanup overruns)."""
        stuck = HolderStart(harness, in_stop=True)
        sup = Supervisor.start([ChildSpec("stuck", stuck, shutdown=BUDGET)])
        held = sup.whereis("stuck")
        downs: list[Down] = []
        monitor(held, downs.append)
        began = time.monotonic()
        assert sup.stop(timeout=5.0)
        elapsed = time.monotonic() - began
        assert BUDGET <= elapsed < 2.0
        assert stuck.held.is_set()
        stuck.release.set()
        assert held.wait_for_exit(5.0)
        assert held.exit_reason == Killed()
        assert downs == [Down(held, Killed())]

    def test_terminate_child_of_a_stuck_child_returns_after_its_budget(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_unlink (adapted: a child that ignores its shutdown
        does not hang the supervisor, which keeps serving calls)."""
        stuck = HolderStart(harness)
        sup = harness.start([CrashWorker.spec("other"), ChildSpec("stuck", stuck, shutdown=BUDGET)])
        old = sup.whereis("stuck")
        old.tell("hold")
        assert stuck.held.wait(5.0)
        began = time.monotonic()
        sup.terminate_child("stuck")
        assert time.monotonic() - began < 2.0
        info = sup.which_child("stuck")
        assert info.status == "terminated"
        assert info.ref is None
        assert info.last_exit == Killed()
        assert sup.whereis("other").ask("ping") == "pong"
        with pytest.raises(SupervisorError):
            sup.restart_child("stuck")
        assert len(stuck.refs) == 1
        stuck.release.set()
        assert old.wait_for_exit(5.0)
        assert old.exit_reason == Killed()
        new = sup.restart_child("stuck")
        assert new.ask("ping") == "pong"
        assert stuck.overlaps == [False, False]

    def test_a_group_restart_waits_for_a_killed_sibling_thread_before_restarting_it(
        self, harness: Harness
    ) -> None:
        """OTP supervisor_SUITE: one_for_all (with a sibling that overruns its budget; no
        two live instances of one child id)."""
        first = CountingStart("first")
        stuck = HolderStart(harness)
        sup = harness.start(
            [ChildSpec("first", first), ChildSpec("stuck", stuck, shutdown=BUDGET)],
            strategy="one_for_all",
            clock=ManualClock(),
        )
        old = sup.whereis("stuck")
        old.tell("hold")
        assert stuck.held.wait(5.0)
        CrashWorker.crash(first.refs[0])
        wait_until_restarted(sup, "first", previous=first.refs[0])
        info = sup.which_child("stuck")
        assert info.status == "restarting"
        assert info.ref is None
        assert len(stuck.refs) == 1
        stuck.release.set()
        new = wait_until_restarted(sup, "stuck", previous=old)
        assert new.ask("ping") == "pong"
        assert old.exit_reason == Killed()
        assert stuck.overlaps == [False, False]
        assert first.calls == 2


# --- exits during shutdown -------------------------------------------------------------


class TestExitsDuringShutdown:
    def test_children_exiting_by_themselves_during_shutdown_keep_their_own_reasons(
        self, harness: Harness
    ) -> None:
        """OTP supervisor_SUITE: sup_stop_race, sup_stop_non_shutdown_exit_dynamic."""
        permanent = CountingStart("permanent")
        transient = CountingStart("transient")
        temporary = CountingStart("temporary")
        slow = HolderStart(harness, in_stop=True)
        sup = Supervisor.start(
            [
                ChildSpec("permanent", permanent),
                ChildSpec("transient", transient, restart="transient"),
                ChildSpec("temporary", temporary, restart="temporary"),
                ChildSpec("slow", slow, shutdown="infinity"),
            ]
        )
        stopper = threading.Thread(target=lambda: sup.stop(timeout=10.0), name="test-stopper")
        stopper.start()
        try:
            assert slow.held.wait(5.0)
            error = RuntimeError("crashed while the supervisor stops")
            CrashWorker.finish_with(permanent.refs[0], "x")
            CrashWorker.crash(transient.refs[0], error)
            temporary.refs[0].stop()
            for ref in (permanent.refs[0], transient.refs[0]):
                assert ref.wait_for_exit(5.0)
        finally:
            slow.release.set()
            stopper.join(10.0)
        assert not stopper.is_alive()
        assert permanent.refs[0].exit_reason == Shutdown("x")
        assert transient.refs[0].exit_reason == Crashed(error)
        assert temporary.refs[0].exit_reason == Normal()
        assert slow.refs[0].exit_reason == Shutdown()
        assert (permanent.calls, transient.calls, temporary.calls) == (1, 1, 1)
        assert sup.exit_reason == Normal()
