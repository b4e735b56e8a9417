"""``supervisors.Actor``: every way an actor ends is reported with an ``ExitReason``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from supervisors import Actor, ChildSpec, Crashed, Normal, Shutdown, Supervisor
from supervisors.testing import CrashWorker, wait_for

TIMEOUT = 5.0


class Probe(Actor):
    """An actor that records its hooks and does what its messages say."""

    def __init__(self, events: list[str] | None = None, fail_start: BaseException | None = None) -> None:
        super().__init__()
        self.events = events if events is not None else []
        self._fail_start = fail_start

    def on_start(self) -> None:
        if self._fail_start is not None:
            raise self._fail_start
        self.events.append("on_start")

    def on_stop(self) -> None:
        self.events.append("on_stop")

    def on_failure(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.events.append(f"on_failure:{exc_type.__name__}")

    def on_receive(self, message: Any) -> Any:
        match message:
            case "ping":
                return "pong"
            case ("raise", BaseException() as exc):
                raise exc
            case ("finish", info):
                self.finish(info)
                return "finishing"
            case "stop_self":
                self.stop()
                return None
        return message


class CrashingAsker(Probe):
    """A probe whose errors while answering an ``ask`` crash it (OTP-like)."""

    crash_on_ask_error = True


class TolerantProbe(Probe):
    """A probe that opts out of OTP's rule: an ask error goes to the caller only."""

    crash_on_ask_error = False


@pytest.fixture
def started() -> Iterator[list[Any]]:
    """Refs a test started; whatever is still running is stopped at the end."""
    refs: list[Any] = []
    yield refs
    for ref in reversed(refs):
        ref.stop()


def spin_until_dead(ref: Any, timeout: float = TIMEOUT) -> Any:
    """Busy-wait for ``is_alive()`` to turn false; return ``exit_reason`` read right after."""
    deadline = time.monotonic() + timeout
    while ref.is_alive():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ref} still alive")
    return ref.exit_reason


class TestExitReasons:
    def test_stop_gives_normal(self, started: list[Any]) -> None:
        ref = Probe.start()
        assert ref.stop() is True
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Normal()

    def test_an_actor_stopping_itself_gives_normal(self) -> None:
        ref = Probe.start()
        ref.tell("stop_self")
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Normal()

    def test_exit_reason_is_none_while_the_actor_is_alive(self, started: list[Any]) -> None:
        ref = Probe.start()
        started.append(ref)
        assert ref.ask("ping", timeout=TIMEOUT) == "pong"
        assert ref.exit_reason is None
        assert ref.wait_for_exit(0.01) is False

    def test_a_stop_ordered_by_the_supervisor_gives_shutdown(self) -> None:
        sup = Supervisor.start([CrashWorker.spec("w")])
        try:
            ref = sup.whereis("w")
            sup.terminate_child("w")
            assert ref.wait_for_exit(TIMEOUT)
            assert ref.exit_reason == Shutdown()
        finally:
            sup.stop()

    def test_children_stopped_with_their_supervisor_get_shutdown(self) -> None:
        sup = Supervisor.start([CrashWorker.spec("a"), CrashWorker.spec("b")])
        refs = [sup.whereis("a"), sup.whereis("b")]
        sup.stop()
        for ref in refs:
            assert ref.wait_for_exit(TIMEOUT)
            assert ref.exit_reason == Shutdown()

    def test_finish_with_info_gives_shutdown_with_that_info(self) -> None:
        ref = Probe.start()
        assert ref.ask(("finish", {"done": 3}), timeout=TIMEOUT) == "finishing"
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Shutdown({"done": 3})
        assert ref.exit_reason != Shutdown()

    def test_finish_without_info_gives_plain_shutdown(self) -> None:
        ref = Probe.start()
        ref.tell(("finish", None))
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Shutdown()

    def test_an_exception_in_on_start_gives_crashed(self) -> None:
        error = ValueError("cannot start")
        ref = Probe.start(fail_start=error)
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Crashed(error)
        assert ref.exit_reason.exception is error

    def test_an_exception_in_a_tell_handler_gives_crashed(self) -> None:
        error = RuntimeError("boom")
        ref = Probe.start()
        ref.tell(("raise", error))
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Crashed(error)
        assert ref.exit_reason.is_crash

    @pytest.mark.parametrize("error", [SystemExit(3), KeyboardInterrupt()], ids=type)
    def test_a_base_exception_in_a_tell_handler_gives_crashed(self, error: BaseException) -> None:
        ref = Probe.start()
        ref.tell(("raise", error))
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Crashed(error)

    def test_a_base_exception_in_on_start_gives_crashed(self) -> None:
        error = KeyboardInterrupt()
        ref = Probe.start(fail_start=error)
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Crashed(error)

    def test_crashed_carries_the_traceback_text(self) -> None:
        ref = Probe.start()
        ref.tell(("raise", RuntimeError("with a trace")))
        assert ref.wait_for_exit(TIMEOUT)
        text = ref.exit_reason.traceback_text()
        assert "Traceback" in text
        assert "RuntimeError: with a trace" in text


class TestHooks:
    def test_on_stop_runs_after_stop_and_on_failure_does_not(self) -> None:
        events: list[str] = []
        ref = Probe.start(events)
        ref.stop()
        assert events == ["on_start", "on_stop"]

    def test_on_stop_runs_after_finish(self) -> None:
        events: list[str] = []
        ref = Probe.start(events)
        ref.tell(("finish", "info"))
        assert ref.wait_for_exit(TIMEOUT)
        assert events == ["on_start", "on_stop"]

    def test_on_stop_runs_after_a_supervisor_ordered_stop(self) -> None:
        events: list[str] = []
        sup = Supervisor.start([CrashWorker.spec("w", events=events)])
        try:
            sup.terminate_child("w")
            assert events == ["start:w", "stop:w"]
        finally:
            sup.stop()

    def test_on_failure_runs_after_a_crash_and_on_stop_does_not(self) -> None:
        events: list[str] = []
        ref = Probe.start(events)
        ref.tell(("raise", RuntimeError("boom")))
        assert ref.wait_for_exit(TIMEOUT)
        assert events == ["on_start", "on_failure:RuntimeError"]

    def test_on_failure_runs_after_a_crash_in_on_start(self) -> None:
        events: list[str] = []
        ref = Probe.start(events, fail_start=ValueError("no"))
        assert ref.wait_for_exit(TIMEOUT)
        assert events == ["on_failure:ValueError"]

    def test_on_failure_runs_after_a_base_exception(self) -> None:
        events: list[str] = []
        ref = Probe.start(events)
        ref.tell(("raise", SystemExit(1)))
        assert ref.wait_for_exit(TIMEOUT)
        assert events == ["on_start", "on_failure:SystemExit"]


class TestAskErrors:
    def test_opted_out_an_ask_error_goes_to_the_caller_and_the_actor_lives_on(
        self, started: list[Any]
    ) -> None:
        events: list[str] = []
        ref = TolerantProbe.start(events)
        started.append(ref)
        error = ValueError("bad question")
        with pytest.raises(ValueError, match="bad question"):
            ref.ask(("raise", error), timeout=TIMEOUT)
        assert ref.ask("ping", timeout=TIMEOUT) == "pong"
        assert ref.is_alive()
        assert ref.exit_reason is None
        assert events == ["on_start"]

    def test_crash_on_ask_error_gives_the_caller_the_error_and_crashes_the_actor(self) -> None:
        events: list[str] = []
        ref = CrashingAsker.start(events)
        error = ValueError("bad question")
        with pytest.raises(ValueError, match="bad question") as raised:
            ref.ask(("raise", error), timeout=TIMEOUT)
        assert raised.value is error
        assert ref.wait_for_exit(TIMEOUT)
        assert ref.exit_reason == Crashed(error)
        assert events == ["on_start", "on_failure:ValueError"]

    def test_crash_on_ask_error_leaves_successful_asks_alone(self, started: list[Any]) -> None:
        ref = CrashingAsker.start()
        started.append(ref)
        assert ref.ask("ping", timeout=TIMEOUT) == "pong"
        assert ref.ask("ping", timeout=TIMEOUT) == "pong"
        assert ref.is_alive()

    def test_a_crash_on_ask_error_child_is_restarted_by_its_supervisor(self) -> None:
        sup = Supervisor.start([_spec_of(CrashingAsker, "asker")])
        try:
            old = sup.whereis("asker")
            with pytest.raises(RuntimeError):
                old.ask(("raise", RuntimeError("x")), timeout=TIMEOUT)
            new = wait_for(
                lambda: (r := sup.whereis("asker")) is not None and r is not old and r,
                TIMEOUT,
            )
            assert new.ask("ping", timeout=TIMEOUT) == "pong"
            assert sup.which_child("asker").restarts == 1
        finally:
            sup.stop()


def _spec_of(cls: type[Actor], child_id: str) -> ChildSpec:
    return ChildSpec(child_id, cls.start)


class TestIsolation:
    @pytest.mark.parametrize("error", [SystemExit(2), KeyboardInterrupt()], ids=type)
    def test_a_base_exception_in_one_actor_leaves_every_other_actor_alive(
        self, error: BaseException, started: list[Any]
    ) -> None:
        bystanders = [Probe.start() for _ in range(3)]
        started.extend(bystanders)
        sup = Supervisor.start([CrashWorker.spec("a"), CrashWorker.spec("b")])
        started.append(sup)
        children = {cid: sup.whereis(cid) for cid in ("a", "b")}

        victim = Probe.start()
        victim.tell(("raise", error))
        assert victim.wait_for_exit(TIMEOUT)
        assert victim.exit_reason == Crashed(error)

        for ref in bystanders:
            assert ref.is_alive()
            assert ref.ask("ping", timeout=TIMEOUT) == "pong"
        assert sup.is_alive()
        for cid, ref in children.items():
            assert sup.whereis(cid) is ref
            assert ref.ask("ping", timeout=TIMEOUT) == "pong"
        registered = set(pykka.ActorRegistry.get_all())
        assert set(bystanders) <= registered

    def test_a_crash_in_on_start_does_not_stop_other_actors(self, started: list[Any]) -> None:
        bystander = Probe.start()
        started.append(bystander)
        victim = Probe.start(fail_start=SystemExit(1))
        assert victim.wait_for_exit(TIMEOUT)
        assert bystander.ask("ping", timeout=TIMEOUT) == "pong"


class TestExitReasonBeforeIsAlive:
    """``exit_reason`` is set before ``is_alive()`` turns false (no window without one)."""

    @pytest.mark.parametrize("how", ["stop", "finish", "crash", "base_exception"])
    def test_an_actor_that_is_no_longer_alive_always_has_an_exit_reason(self, how: str) -> None:
        for _ in range(20):
            ref = Probe.start()
            assert ref.ask("ping", timeout=TIMEOUT) == "pong"
            match how:
                case "stop":
                    ref.stop(block=False)
                case "finish":
                    ref.tell(("finish", None))
                case "crash":
                    ref.tell(("raise", RuntimeError("x")))
                case _:
                    ref.tell(("raise", KeyboardInterrupt()))
            assert spin_until_dead(ref) is not None
            assert ref.wait_for_exit(TIMEOUT)

    def test_a_supervisor_that_is_no_longer_alive_always_has_an_exit_reason(self) -> None:
        for _ in range(10):
            sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=0)
            CrashWorker.crash(sup.whereis("w"))
            assert spin_until_dead(sup) == Shutdown()
            assert sup.wait_for_exit(TIMEOUT)

    def test_a_stopped_supervisor_reports_normal_once_it_is_dead(self) -> None:
        sup = Supervisor.start([CrashWorker.spec("w")])
        stopper = threading.Thread(target=sup.stop)
        stopper.start()
        try:
            assert spin_until_dead(sup) == Normal()
        finally:
            stopper.join(TIMEOUT)


class TestPykkaFields:
    """``Actor.__init__`` sets pykka's fields itself (issue 22); these pin that it misses none."""

    def test_an_actor_has_every_field_a_pykka_actor_has(self) -> None:
        bare = pykka.ThreadingActor()  # constructed, never started: no thread
        ours = Probe()
        assert set(vars(bare)) <= set(vars(ours))
        urn = uuid.UUID(ours.actor_urn)  # a uuid4 URN, as pykka's
        assert (urn.version, urn.variant, urn.urn) == (4, uuid.RFC_4122, ours.actor_urn)
        assert ours.actor_urn != Probe().actor_urn

    def test_the_stopped_event_behaves_as_a_threading_event(self) -> None:
        stopped = Probe().actor_stopped
        assert isinstance(stopped, threading.Event)
        assert not stopped.is_set()
        assert stopped.wait(timeout=0.01) is False
        waiter_saw: list[bool] = []
        waiter = threading.Thread(target=lambda: waiter_saw.append(stopped.wait(timeout=5.0)))
        waiter.start()
        stopped.set()
        waiter.join()
        assert waiter_saw == [True]
        assert stopped.is_set()
        stopped.clear()
        assert not stopped.is_set()

    def test_a_started_actor_is_alive_until_stopped(self) -> None:
        ref = Probe.start()
        assert ref.is_alive()
        ref.stop()
        assert not ref.is_alive()
        assert ref.actor_stopped.is_set()
