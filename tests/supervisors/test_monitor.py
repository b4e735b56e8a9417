"""Monitors: ``callback(Down(ref, reason))`` exactly once when an actor ends."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest

from supervisors import (
    Crashed,
    Down,
    DynamicSupervisor,
    Normal,
    Shutdown,
    Supervisor,
    demonitor,
    monitor,
)
from supervisors.testing import CrashWorker, wait_for

TIMEOUT = 5.0


class Recorder:
    """A monitor callback that records every ``Down`` and the thread it ran in."""

    def __init__(self) -> None:
        self.downs: list[Down] = []
        self.threads: list[threading.Thread] = []
        self.called = threading.Event()

    def __call__(self, down: Down) -> None:
        self.downs.append(down)
        self.threads.append(threading.current_thread())
        self.called.set()


def wait_for_threads_to_end(baseline: set[threading.Thread]) -> None:
    """Every thread started since ``baseline`` has ended, so no callback is still to come."""
    wait_for(
        lambda: not [t for t in threading.enumerate() if t not in baseline and t.is_alive()],
        TIMEOUT,
        message="actor threads ending",
    )


class TestMonitor:
    def test_the_callback_runs_exactly_once_with_the_exit_reason(self) -> None:
        baseline = set(threading.enumerate())
        ref = CrashWorker.start()
        recorder = Recorder()
        handle = monitor(ref, recorder)
        ref.stop()
        assert recorder.called.wait(TIMEOUT)
        ref.stop()  # a second stop of a dead actor must not report it again
        wait_for_threads_to_end(baseline)
        assert recorder.downs == [Down(ref, Normal())]
        assert recorder.downs[0].ref is ref
        assert demonitor(handle) is False

    def test_a_crash_is_reported_with_crashed(self) -> None:
        ref = CrashWorker.start()
        recorder = Recorder()
        monitor(ref, recorder)
        error = RuntimeError("boom")
        CrashWorker.crash(ref, error)
        assert recorder.called.wait(TIMEOUT)
        assert recorder.downs == [Down(ref, Crashed(error))]

    def test_finish_is_reported_with_shutdown_info(self) -> None:
        ref = CrashWorker.start()
        recorder = Recorder()
        monitor(ref, recorder)
        CrashWorker.finish_with(ref, "done")
        assert recorder.called.wait(TIMEOUT)
        assert recorder.downs == [Down(ref, Shutdown("done"))]

    def test_a_crash_in_on_start_is_reported(self) -> None:
        error = ValueError("no start")
        # on_start runs in the actor's thread, so the monitor may come before or after
        # the crash: either way there is exactly one Down.
        ref = CrashWorker.start(fail_start=error)
        recorder = Recorder()
        monitor(ref, recorder)
        assert recorder.called.wait(TIMEOUT)
        assert recorder.downs == [Down(ref, Crashed(error))]

    def test_the_callback_runs_at_once_in_the_caller_when_the_actor_is_already_dead(
        self,
    ) -> None:
        ref = CrashWorker.start()
        ref.stop()
        assert ref.wait_for_exit(TIMEOUT)
        recorder = Recorder()
        handle = monitor(ref, recorder)
        # No waiting: the callback has run before monitor() returned, in this thread.
        assert recorder.downs == [Down(ref, Normal())]
        assert recorder.threads == [threading.current_thread()]
        assert demonitor(handle) is False

    def test_the_callback_runs_in_the_ending_actors_thread(self) -> None:
        ref = CrashWorker.start()
        recorder = Recorder()
        monitor(ref, recorder)
        ref.stop()
        assert recorder.called.wait(TIMEOUT)
        assert recorder.threads[0] is not threading.current_thread()

    def test_several_monitors_each_fire_exactly_once(self) -> None:
        baseline = set(threading.enumerate())
        ref = CrashWorker.start()
        recorders = [Recorder() for _ in range(5)]
        for recorder in recorders:
            monitor(ref, recorder)
        error = RuntimeError("x")
        CrashWorker.crash(ref, error)
        wait_for_threads_to_end(baseline)
        for recorder in recorders:
            assert recorder.downs == [Down(ref, Crashed(error))]

    def test_the_same_callback_registered_twice_fires_twice(self) -> None:
        ref = CrashWorker.start()
        recorder = Recorder()
        monitor(ref, recorder)
        monitor(ref, recorder)
        ref.stop()
        wait_for(lambda: len(recorder.downs) == 2, TIMEOUT)
        assert recorder.downs == [Down(ref, Normal())] * 2

    def test_a_failing_callback_does_not_stop_the_others(self) -> None:
        ref = CrashWorker.start()

        def broken(_down: Down) -> None:
            raise RuntimeError("callback bug")

        recorder = Recorder()
        monitor(ref, broken)
        monitor(ref, recorder)
        ref.stop()
        assert recorder.called.wait(TIMEOUT)
        assert recorder.downs == [Down(ref, Normal())]

    def test_monitoring_a_plain_pykka_actor_is_refused(self) -> None:
        ref = pykka.ThreadingActor.start()
        try:
            with pytest.raises(TypeError, match=r"supervisors\.Actor"):
                monitor(ref, Recorder())
        finally:
            ref.stop()


class TestDemonitor:
    def test_demonitor_cancels_the_callback(self) -> None:
        baseline = set(threading.enumerate())
        ref = CrashWorker.start()
        cancelled, kept = Recorder(), Recorder()
        handle = monitor(ref, cancelled)
        monitor(ref, kept)
        assert demonitor(handle) is True
        ref.stop()
        assert kept.called.wait(TIMEOUT)
        wait_for_threads_to_end(baseline)
        assert cancelled.downs == []

    def test_demonitor_twice_reports_the_second_call_as_inactive(self) -> None:
        ref = CrashWorker.start()
        try:
            handle = monitor(ref, Recorder())
            assert demonitor(handle) is True
            assert demonitor(handle) is False
        finally:
            ref.stop()

    def test_demonitor_after_the_callback_ran_returns_false(self) -> None:
        ref = CrashWorker.start()
        recorder = Recorder()
        handle = monitor(ref, recorder)
        ref.stop()
        assert recorder.called.wait(TIMEOUT)
        assert demonitor(handle) is False

    def test_demonitor_leaves_other_monitors_of_the_same_actor_alone(self) -> None:
        ref = CrashWorker.start()
        first, second, third = Recorder(), Recorder(), Recorder()
        monitor(ref, first)
        handle = monitor(ref, second)
        monitor(ref, third)
        demonitor(handle)
        ref.stop()
        assert first.called.wait(TIMEOUT)
        assert third.called.wait(TIMEOUT)
        assert len(first.downs) == len(third.downs) == 1


class TestMonitorSupervisors:
    def test_a_stopped_supervisor_is_reported_with_normal(self) -> None:
        sup = Supervisor.start([CrashWorker.spec("w")])
        recorder = Recorder()
        monitor(sup, recorder)
        sup.stop()
        assert recorder.called.wait(TIMEOUT)
        assert recorder.downs == [Down(sup, Normal())]
        assert recorder.downs[0].ref is sup

    def test_a_supervisor_that_exceeds_its_intensity_is_reported_with_shutdown(self) -> None:
        sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=0)
        recorder = Recorder()
        monitor(sup, recorder)
        CrashWorker.crash(sup.whereis("w"))
        assert recorder.called.wait(TIMEOUT)
        assert recorder.downs == [Down(sup, Shutdown())]

    def test_a_dynamic_supervisor_can_be_monitored(self) -> None:
        sup = DynamicSupervisor.start()
        recorder = Recorder()
        monitor(sup, recorder)
        sup.stop()
        assert recorder.called.wait(TIMEOUT)
        assert [d.reason for d in recorder.downs] == [Normal()]

    def test_monitoring_a_dead_supervisor_reports_at_once(self) -> None:
        sup = Supervisor.start([])
        sup.stop()
        recorder = Recorder()
        monitor(sup, recorder)
        assert recorder.downs == [Down(sup, Normal())]

    def test_a_demonitored_supervisor_is_not_reported(self) -> None:
        baseline = set(threading.enumerate())
        sup = Supervisor.start([CrashWorker.spec("w")])
        recorder = Recorder()
        demonitor(monitor(sup, recorder))
        sup.stop()
        wait_for_threads_to_end(baseline)
        assert recorder.downs == []

    def test_a_supervisor_monitor_fires_after_its_children_have_ended(self) -> None:
        sup = Supervisor.start([CrashWorker.spec("a"), CrashWorker.spec("b")])
        children: list[Any] = [sup.whereis("a"), sup.whereis("b")]
        seen: list[list[bool]] = []
        done = threading.Event()

        def on_down(_down: Down) -> None:
            seen.append([child.is_alive() for child in children])
            done.set()

        monitor(sup, on_down)
        sup.stop()
        assert done.wait(TIMEOUT)
        assert seen == [[False, False]]
