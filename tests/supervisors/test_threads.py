"""Actor threads: daemon threads, joined when an actor is waited for, none left by a failed start.

An abandoned (``Killed``) child keeps its thread until its current call returns; as a
daemon thread it never holds the process open. A start that fails, at any depth, leaves
no thread behind: the actors a failed start function had already started are stopped, as
OTP's links would end them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from supervision_support import Harness, HolderStart

from supervisors import Actor, ChildSpec, Down, StartChildError, Supervisor, SupervisorRef, _threads, monitor
from supervisors.testing import CrashWorker


class FailingStart(Actor):
    def on_start(self) -> None:
        raise RuntimeError("cannot start")


def actor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t is not threading.main_thread()]


class TestDaemonThreads:
    def test_an_actor_runs_on_a_daemon_thread(self) -> None:
        before = set(threading.enumerate())
        ref = CrashWorker.start()
        try:
            [thread] = [t for t in threading.enumerate() if t not in before]
            assert thread.daemon
        finally:
            ref.stop()

    def test_an_abandoned_child_does_not_keep_the_process_alive(self) -> None:
        script = textwrap.dedent(
            """
            import threading
            from supervisors import Actor, ChildSpec, Supervisor

            class Stuck(Actor):
                def on_receive(self, message):
                    threading.Event().wait()  # never returns

            sup = Supervisor.start([ChildSpec("stuck", Stuck.start, shutdown=0.1)])
            sup.whereis("stuck").tell("work")
            sup.stop()  # the child is reported Killed and abandoned
            print("stopped", flush=True)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "stopped" in done.stdout


class TestJoinedThreads:
    def test_waiting_for_an_actor_returns_once_its_thread_has_ended(self) -> None:
        """Its monitors run in its thread after it exited: waiting covers them too."""
        ref = CrashWorker.start()
        threads: list[threading.Thread] = []

        def slow_monitor(_down: Down) -> None:
            threads.append(threading.current_thread())
            threading.Event().wait(0.2)  # a monitor that takes a while

        monitor(ref, slow_monitor)
        ref.stop(block=False)
        assert ref.wait_for_exit(5.0)
        assert not threads[0].is_alive()

    def test_a_stopped_supervisor_has_joined_every_thread_of_its_tree(self) -> None:
        before = actor_threads()

        def start_inner() -> SupervisorRef:
            return Supervisor.start([CrashWorker.spec("x"), CrashWorker.spec("y")], name="inner")

        sup = Supervisor.start([CrashWorker.spec("a"), ChildSpec("inner", start_inner, type="supervisor")])
        assert len(actor_threads()) == len(before) + 5
        sup.stop(timeout=5.0)
        assert actor_threads() == before


class TestFailedStarts:
    def test_a_supervisor_whose_child_fails_to_start_leaves_no_thread(self) -> None:
        before = actor_threads()
        with pytest.raises(StartChildError):
            Supervisor.start([CrashWorker.spec("fine"), ChildSpec("bad", FailingStart.start)])
        assert actor_threads() == before

    def test_actors_a_failed_start_function_had_started_are_stopped(self) -> None:
        started: list[Any] = []

        def start() -> Any:
            started.append(CrashWorker.start(name="orphan"))
            raise RuntimeError("the start fails after starting an actor")

        before = actor_threads()
        with pytest.raises(StartChildError):
            Supervisor.start([CrashWorker.spec("fine"), ChildSpec("bad", start)])
        assert actor_threads() == before
        assert not started[0].is_alive()

    def test_a_supervisor_a_failed_start_function_had_started_is_stopped_with_its_children(
        self,
    ) -> None:
        """The shape of a queue's workers: a dynamic supervisor started, then one of its
        children refused (``start_child`` raised), then the start function raised."""
        from supervisors import DynamicSupervisor

        def start_pool() -> SupervisorRef:
            pool = DynamicSupervisor.start(name="pool")
            pool.start_child(CrashWorker.spec("worker"))
            pool.start_child(ChildSpec("worker", FailingStart.start))  # raises StartChildError
            return pool

        def start_queue() -> SupervisorRef:
            return Supervisor.start([ChildSpec("pool", start_pool, type="supervisor")], name="queue")

        before = actor_threads()
        with pytest.raises(StartChildError):
            Supervisor.start([ChildSpec("queue", start_queue, type="supervisor")])
        assert actor_threads() == before

    def test_a_start_function_that_succeeds_keeps_what_it_started(self, harness: Harness) -> None:
        holder = HolderStart(harness)
        sup = harness.start([ChildSpec("held", holder)])
        assert holder.refs[0].is_alive()
        assert sup.whereis("held") == holder.refs[0]


class TestStartWithoutHandOff:
    """``ActorThread.start`` returns before the new thread runs (no hand-off, issue 22)."""

    @pytest.fixture
    def held_bootstrap(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
        """Threads started by ``ActorThread`` begin their bootstrap only once the event is set."""
        if not _threads._NO_HAND_OFF:
            pytest.skip("this Python keeps Thread.start's hand-off")
        release = threading.Event()
        real_start: Callable[..., int] = threading._start_new_thread  # type: ignore[attr-defined]

        def held_start(bootstrap: Callable[[], None], args: tuple[Any, ...]) -> int:
            def held() -> None:  # the new thread itself, as CPython's start runs it
                release.wait()
                bootstrap(*args)

            return real_start(held, ())

        monkeypatch.setattr(threading, "_start_new_thread", held_start)
        yield release
        release.set()  # every thread a test left held runs (and each test joins its own)

    def test_a_started_thread_is_alive_and_listed_before_it_runs(
        self, held_bootstrap: threading.Event
    ) -> None:
        ran = threading.Event()
        thread = _threads.ActorThread(target=ran.set, daemon=True)
        thread.start()
        assert not ran.is_set()
        assert thread.is_alive()
        assert thread in threading.enumerate()
        held_bootstrap.set()
        thread.join()
        assert ran.is_set()
        assert not thread.is_alive()

    def test_a_join_before_the_thread_runs_waits_for_it_or_times_out(
        self, held_bootstrap: threading.Event
    ) -> None:
        thread = _threads.ActorThread(target=lambda: None, daemon=True)
        thread.start()
        thread.join(timeout=0.01)  # not yet running: times out, as a join of a live thread does
        assert thread.is_alive()
        held_bootstrap.set()
        thread.join()
        assert not thread.is_alive()

    def test_a_thread_cannot_be_started_twice(self, held_bootstrap: threading.Event) -> None:
        thread = _threads.ActorThread(target=lambda: None, daemon=True)
        thread.start()
        with pytest.raises(RuntimeError, match="only be started once"):
            thread.start()
        held_bootstrap.set()
        thread.join()

    def test_an_actor_with_a_held_thread_answers_once_its_thread_runs(
        self, held_bootstrap: threading.Event
    ) -> None:
        """The start returns at once; the ask is served when the thread gets to run."""
        ref = CrashWorker.start()
        future = ref.ask("ping", block=False)
        held_bootstrap.set()
        assert future.get(timeout=5.0) == "pong"
        ref.stop()
        assert ref.wait_for_exit(5.0)

    def test_a_non_daemon_thread_keeps_the_hand_off(self) -> None:
        ran = threading.Event()
        thread = _threads.ActorThread(target=ran.wait, daemon=False)
        thread.start()
        try:
            assert thread.ident is not None  # set by the new thread before start returned
        finally:
            ran.set()
            thread.join()
