"""Stopping with a deadline: no child is waited for past it, whatever its own budget.

Beyond OTP, whose shutdown budgets add up one child after another: an owner that promised
to be gone by a given time (a worker told to stop within its grace) passes that time as a
deadline, and every child still running then is reported ``Killed()`` and abandoned.
"""

from __future__ import annotations

import time

from supervision_support import Harness, HolderStart

from supervisors import ChildSpec, Killed, Normal, Shutdown, Supervisor, SupervisorRef
from supervisors.testing import CrashWorker

SLACK = 2.0  # scheduling slack on a loaded machine; the budgets here are 30 s


class TestStopDeadline:
    def test_no_child_is_waited_for_past_the_deadline_of_a_stop(self, harness: Harness) -> None:
        first, second = HolderStart(harness), HolderStart(harness)
        sup = harness.start(
            [ChildSpec("first", first, shutdown=30.0), ChildSpec("second", second, shutdown=30.0)]
        )
        for start in (first, second):
            start.refs[0].tell("hold")
            assert start.held.wait(5.0)
        began = time.monotonic()
        assert sup.stop(deadline=began + 0.3)
        elapsed = time.monotonic() - began
        assert 0.3 <= elapsed < 0.3 + SLACK  # one deadline for both, not 0.3 s each
        assert sup.exit_reason == Normal()
        for start in (first, second):
            start.release.set()
            assert start.refs[0].wait_for_exit(5.0)
            assert start.refs[0].exit_reason == Killed()

    def test_children_that_stop_before_the_deadline_end_with_shutdown(self) -> None:
        events: list[str] = []
        sup = Supervisor.start([CrashWorker.spec(name, events=events) for name in ("a", "b")])
        refs = [sup.whereis("a"), sup.whereis("b")]
        events.clear()
        assert sup.stop(deadline=time.monotonic() + 10.0)
        assert events == ["stop:b", "stop:a"]
        assert [ref.exit_reason for ref in refs] == [Shutdown(), Shutdown()]

    def test_a_child_supervisor_passes_the_deadline_on_to_its_children(self, harness: Harness) -> None:
        stuck = HolderStart(harness)

        def start_inner() -> SupervisorRef:
            return Supervisor.start([ChildSpec("stuck", stuck, shutdown=30.0)], name="inner")

        sup = harness.start([ChildSpec("inner", start_inner, type="supervisor")])
        inner = sup.whereis("inner")
        stuck.refs[0].tell("hold")
        assert stuck.held.wait(5.0)
        began = time.monotonic()
        assert sup.stop(deadline=began + 0.3)
        assert time.monotonic() - began < 0.3 + SLACK
        assert inner.exit_reason == Shutdown()
        stuck.release.set()
        assert stuck.refs[0].wait_for_exit(5.0)
        assert stuck.refs[0].exit_reason == Killed()

    def test_a_deadline_already_past_waits_for_no_one(self, harness: Harness) -> None:
        stuck = HolderStart(harness)
        sup = harness.start([ChildSpec("stuck", stuck, shutdown=30.0)])
        stuck.refs[0].tell("hold")
        assert stuck.held.wait(5.0)
        began = time.monotonic()
        assert sup.stop(deadline=began - 1.0)
        assert time.monotonic() - began < SLACK
        stuck.release.set()
        assert stuck.refs[0].wait_for_exit(5.0)
        assert stuck.refs[0].exit_reason == Killed()


class TestTerminateChildDeadline:
    def test_terminate_child_waits_for_its_subtree_until_the_deadline_at_most(self, harness: Harness) -> None:
        stuck = HolderStart(harness)

        def start_inner() -> SupervisorRef:
            return Supervisor.start([ChildSpec("stuck", stuck, shutdown=30.0)], name="inner")

        sup = harness.start([CrashWorker.spec("other"), ChildSpec("inner", start_inner, type="supervisor")])
        stuck.refs[0].tell("hold")
        assert stuck.held.wait(5.0)
        began = time.monotonic()
        sup.terminate_child("inner", deadline=began + 0.3)
        assert 0.3 <= time.monotonic() - began < 0.3 + SLACK
        assert sup.which_child("inner").status == "terminated"
        assert sup.whereis("other").ask("ping") == "pong"
        stuck.release.set()
        assert stuck.refs[0].wait_for_exit(5.0)
        assert stuck.refs[0].exit_reason == Killed()

    def test_a_later_stop_without_a_deadline_keeps_the_budgets(self, harness: Harness) -> None:
        """A deadline belongs to one stop: it does not shorten the next one."""
        sup = harness.start([CrashWorker.spec("slow", shutdown=2.0, stop_delay=0.3)])
        slow = sup.whereis("slow")
        sup.terminate_child("slow", deadline=time.monotonic() - 1.0)
        assert sup.which_child("slow").last_exit == Killed()
        assert slow.wait_for_exit(5.0)
        again = sup.restart_child("slow")
        assert sup.stop(timeout=5.0)
        assert again.exit_reason == Shutdown()
