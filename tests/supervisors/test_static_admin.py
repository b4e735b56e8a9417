"""The admin API of a static supervisor (``Supervisor.start``).

Ports of OTP ``supervisor_SUITE`` behaviours 1, 5, 13, 33, 34 and 37 (see
``../shared/reference/otp-supervision.md`` §2). Registered names (item 36) do not exist
here: ``name`` is only a label.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from supervision_support import Harness, Starter, StartFailedError, counts

from supervisors import (
    ChildSpec,
    Down,
    Normal,
    Shutdown,
    StartChildError,
    Supervisor,
    SupervisorError,
    SupervisorRef,
    monitor,
)
from supervisors.testing import CrashWorker, ManualClock, wait_for, wait_until_restarted

# --- starting and stopping ---------------------------------------------------------


class TestSupervisorStart:
    def test_empty_supervisor_starts_and_stops_cleanly(self) -> None:
        """OTP supervisor_SUITE: sup_start_normal."""
        sup = Supervisor.start([], max_restarts=2, max_seconds=3600)
        try:
            assert sup.is_alive()
            assert sup.exit_reason is None
            assert sup.which_children() == []
            assert sup.count_children() == counts(0, 0, 0, 0)
        finally:
            assert sup.stop(timeout=5.0) is True
        assert not sup.is_alive()
        assert sup.exit_reason == Normal()

    def test_stopping_an_already_stopped_supervisor_returns_false(self) -> None:
        """OTP supervisor_SUITE: sup_start_normal (``SupervisorRef.stop`` as documented)."""
        sup = Supervisor.start([])
        assert sup.stop(timeout=5.0) is True
        assert sup.stop(timeout=5.0) is False
        assert sup.exit_reason == Normal()

    def test_a_monitor_on_a_supervisor_reports_its_stop_once(self) -> None:
        """OTP supervisor_SUITE: sup_start_normal (the stop is observable)."""
        sup = Supervisor.start([CrashWorker.spec("w")])
        downs: list[Down] = []
        try:
            monitor(sup, downs.append)
        finally:
            sup.stop(timeout=5.0)
        assert downs == [Down(sup, Normal())]

    def test_children_start_in_declaration_order(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: order_of_children (start order)."""
        events: list[str] = []
        ids = ["p3", "a1", "z9", "m5", "b2"]
        sup = harness.start([CrashWorker.spec(i, events=events) for i in ids])
        assert events == [f"start:{i}" for i in ids]
        assert [info.id for info in sup.which_children()] == ids

    def test_a_child_failing_to_start_fails_the_start_and_stops_earlier_children_in_reverse(
        self,
    ) -> None:
        """OTP supervisor_SUITE: sup_start_fail (adapted: a child's start raises)."""
        events: list[str] = []
        a = Starter("a", events=events)
        b = Starter("b", events=events)
        error = StartFailedError("c cannot start")

        def start_c() -> Any:
            raise error

        d = Starter("d", events=events)
        with pytest.raises(StartChildError) as caught:
            Supervisor.start([a.spec(), b.spec(), ChildSpec("c", start_c), d.spec()])
        assert caught.value.child_id == "c"
        assert caught.value.__cause__ is error
        assert events == ["start:a", "start:b", "stop:b", "stop:a"]
        assert d.calls == 0
        for ref in a.refs + b.refs:
            assert ref.wait_for_exit(5.0)
            assert ref.exit_reason == Shutdown()

    def test_a_child_crashing_in_on_start_fails_the_supervisor_start(self) -> None:
        """OTP supervisor_SUITE: sup_start_fail (adapted: a child's init raises)."""
        events: list[str] = []
        error = ValueError("bad config")
        with pytest.raises(StartChildError) as caught:
            Supervisor.start(
                [
                    CrashWorker.spec("ok", events=events),
                    CrashWorker.spec("broken", fail_start=error, events=events),
                ]
            )
        assert caught.value.child_id == "broken"
        assert caught.value.__cause__ is error
        assert events == ["start:ok", "crash:broken", "stop:ok"]


# --- child_adm -------------------------------------------------------------------------


class TestChildAdmin:
    def test_start_child_of_a_running_id_is_already_started(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([])
        spec = CrashWorker.spec("w")
        ref = sup.start_child(spec)
        with pytest.raises(SupervisorError) as caught:
            sup.start_child(spec)
        assert caught.value.code == "already_started"
        assert sup.whereis("w") is ref
        assert ref.ask("ping") == "pong"

    def test_terminate_child_of_an_unknown_id_is_not_found(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        with pytest.raises(SupervisorError) as caught:
            sup.terminate_child("nobody")
        assert caught.value.code == "not_found"

    def test_terminate_child_stops_it_with_shutdown_and_keeps_its_spec(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        ref = sup.whereis("w")
        downs: list[Down] = []
        monitor(ref, downs.append)
        sup.terminate_child("w")
        assert downs == [Down(ref, Shutdown())]
        info = sup.which_child("w")
        assert info.ref is None
        assert info.status == "terminated"
        assert sup.count_children() == counts(1, 0, 0, 1)

    def test_terminate_child_twice_is_idempotent(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        sup.terminate_child("w")
        sup.terminate_child("w")
        assert sup.which_child("w").status == "terminated"
        assert sup.count_children() == counts(1, 0, 0, 1)

    def test_start_child_of_a_terminated_id_is_already_present(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        spec = CrashWorker.spec("w")
        sup = harness.start([spec])
        sup.terminate_child("w")
        with pytest.raises(SupervisorError) as caught:
            sup.start_child(spec)
        assert caught.value.code == "already_present"
        assert sup.whereis("w") is None

    def test_restart_child_starts_a_new_instance(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        old = sup.whereis("w")
        sup.terminate_child("w")
        new = sup.restart_child("w")
        assert new is not old
        assert new.ask("ping") == "pong"
        assert sup.whereis("w") is new
        assert sup.count_children() == counts(1, 1, 0, 1)

    def test_restart_child_of_a_running_child_is_refused_with_running(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        ref = sup.whereis("w")
        with pytest.raises(SupervisorError) as caught:
            sup.restart_child("w")
        assert caught.value.code == "running"
        assert sup.whereis("w") is ref

    def test_restart_child_of_an_unknown_id_is_not_found(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        with pytest.raises(SupervisorError) as caught:
            sup.restart_child("nobody")
        assert caught.value.code == "not_found"

    def test_delete_child_of_a_running_child_is_refused_with_running(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        ref = sup.whereis("w")
        with pytest.raises(SupervisorError) as caught:
            sup.delete_child("w")
        assert caught.value.code == "running"
        assert sup.whereis("w") is ref
        assert ref.ask("ping") == "pong"

    def test_terminate_then_delete_forgets_the_child(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        sup = harness.start([CrashWorker.spec("w")])
        sup.terminate_child("w")
        sup.delete_child("w")
        assert sup.which_children() == []
        assert sup.count_children() == counts(0, 0, 0, 0)
        for call in (sup.restart_child, sup.delete_child, sup.which_child):
            with pytest.raises(SupervisorError) as caught:
                call("w")
            assert caught.value.code == "not_found"

    def test_a_deleted_child_can_be_started_again_with_start_child(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm."""
        spec = CrashWorker.spec("w")
        sup = harness.start([spec])
        sup.terminate_child("w")
        sup.delete_child("w")
        ref = sup.start_child(spec)
        assert ref.ask("ping") == "pong"
        assert sup.count_children() == counts(1, 1, 0, 1)

    def test_terminate_child_by_ref_is_not_found_under_a_static_supervisor(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: child_adm (a pid given to a static supervisor)."""
        sup = harness.start([CrashWorker.spec("w")])
        ref = sup.whereis("w")
        with pytest.raises(SupervisorError) as caught:
            sup.terminate_child(ref)
        assert caught.value.code == "not_found"
        assert sup.whereis("w") is ref
        assert ref.ask("ping") == "pong"

    def test_calls_to_a_stopped_supervisor_raise_noproc(self) -> None:
        """OTP supervisor_SUITE: child_adm (noproc)."""
        sup = Supervisor.start([CrashWorker.spec("w")])
        sup.stop(timeout=5.0)
        calls: list[Callable[[], Any]] = [
            sup.which_children,
            sup.count_children,
            lambda: sup.start_child(CrashWorker.spec("x")),
            lambda: sup.terminate_child("w"),
            lambda: sup.restart_child("w"),
        ]
        for call in calls:
            with pytest.raises(SupervisorError) as caught:
                call()
            assert caught.value.code == "noproc"


# --- restart_child failures --------------------------------------------------------


class TestRestartChildFailures:
    def test_failed_restart_child_leaves_the_child_terminated_without_retry(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_restart_child_returns_error."""
        start = Starter("w", fails=lambda call: call == 2)
        sup = harness.start([start.spec()])
        sup.terminate_child("w")
        with pytest.raises(StartChildError) as caught:
            sup.restart_child("w")
        assert caught.value.child_id == "w"
        assert isinstance(caught.value.__cause__, StartFailedError)
        info = sup.which_child("w")
        assert info.ref is None
        assert info.status == "terminated"
        sup.count_children()  # any retry would have been queued before this call
        assert start.calls == 2
        assert sup.restart_child("w") is start.refs[-1]
        assert start.calls == 3

    def test_failed_start_child_and_restart_child_do_not_count_toward_intensity(
        self, harness: Harness
    ) -> None:
        """OTP supervisor_SUITE: sup_start_child_returns_error (no intensity accounting)."""
        clock = ManualClock()
        flaky = Starter("flaky", fails=lambda call: call > 1)
        sup = harness.start([CrashWorker.spec("w"), flaky.spec()], max_restarts=1, clock=clock)
        sup.terminate_child("flaky")
        for _ in range(3):
            with pytest.raises(StartChildError):
                sup.restart_child("flaky")

        def failing() -> Any:
            raise StartFailedError("never starts")

        for _ in range(3):
            with pytest.raises(StartChildError):
                sup.start_child(ChildSpec("bad", failing))
        old = sup.whereis("w")
        CrashWorker.crash(old)
        wait_until_restarted(sup, "w", previous=old)
        assert sup.is_alive()


# --- which_child -------------------------------------------------------------------


class TestWhichChild:
    def test_which_child_describes_a_running_worker(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: which_children."""
        sup = harness.start([CrashWorker.spec("w")])
        info = sup.which_child("w")
        assert info.id == "w"
        assert info.ref is sup.whereis("w")
        assert info.type == "worker"
        assert info.status == "running"
        assert info.restarts == 0
        assert info.last_exit is None

    def test_which_child_of_a_supervisor_child_gives_its_supervisor_ref(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: which_children (supervisor type)."""
        sup = harness.start(
            [ChildSpec("inner", lambda: Supervisor.start([], name="inner"), type="supervisor")]
        )
        info = sup.which_child("inner")
        assert info.type == "supervisor"
        assert isinstance(info.ref, SupervisorRef)
        assert info.ref.is_alive()
        assert sup.count_children() == counts(1, 1, 1, 0)

    def test_which_child_after_terminate_has_no_ref(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: which_children."""
        sup = harness.start([CrashWorker.spec("w")])
        sup.terminate_child("w")
        info = sup.which_child("w")
        assert info.ref is None
        assert info.status == "terminated"
        assert info.last_exit == Shutdown()
        assert sup.whereis("w") is None

    def test_which_child_after_delete_or_of_an_unknown_id_is_not_found(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: which_children."""
        sup = harness.start([CrashWorker.spec("w")])
        sup.terminate_child("w")
        sup.delete_child("w")
        for child_id in ("w", "nobody"):
            with pytest.raises(SupervisorError) as caught:
                sup.which_child(child_id)
            assert caught.value.code == "not_found"
            assert sup.whereis(child_id) is None


# --- temporary specs are not kept ----------------------------------------------------


class TestTemporarySpecsAreNotKept:
    @pytest.mark.parametrize("strategy", ["one_for_one", "one_for_all", "rest_for_one"])
    @pytest.mark.parametrize("how", ["crash", "normal", "terminate_child"])
    def test_temporary_child_spec_is_dropped_and_can_be_started_again(
        self, harness: Harness, strategy: str, how: str
    ) -> None:
        """OTP supervisor_SUITE: do_not_save_child_specs_for_temporary_children."""
        temp = CrashWorker.spec("t", restart="temporary")
        sup = harness.start([CrashWorker.spec("p")], strategy=strategy)
        keeper = sup.whereis("p")
        ref = sup.start_child(temp)
        if how == "crash":
            CrashWorker.crash(ref)
        elif how == "normal":
            ref.stop()
        else:
            sup.terminate_child("t")
        wait_for(lambda: sup.count_children()["specs"] == 1, 5.0)
        assert [info.id for info in sup.which_children()] == ["p"]
        assert sup.whereis("p") is keeper
        again = sup.start_child(temp)
        assert again is not ref
        assert again.ask("ping") == "pong"

    @pytest.mark.parametrize("strategy", ["one_for_one", "one_for_all", "rest_for_one"])
    @pytest.mark.parametrize("restart", ["permanent", "transient"])
    def test_crashed_child_is_back_so_start_child_is_already_started(
        self, harness: Harness, strategy: str, restart: str
    ) -> None:
        """OTP supervisor_SUITE: do_not_save_child_specs_for_temporary_children."""
        spec = CrashWorker.spec("c", restart=restart)
        sup = harness.start([spec], strategy=strategy)
        old = sup.whereis("c")
        CrashWorker.crash(old)
        wait_until_restarted(sup, "c", previous=old)
        with pytest.raises(SupervisorError) as caught:
            sup.start_child(spec)
        assert caught.value.code == "already_started"

    @pytest.mark.parametrize("how", ["terminate_child", "normal"])
    def test_stopped_transient_child_is_already_present_and_can_be_restarted(
        self, harness: Harness, how: str
    ) -> None:
        """OTP supervisor_SUITE: do_not_save_child_specs_for_temporary_children."""
        spec = CrashWorker.spec("c", restart="transient")
        sup = harness.start([spec])
        ref = sup.whereis("c")
        if how == "normal":
            ref.stop()
            wait_for(lambda: sup.which_child("c").last_exit == Normal(), 5.0)
        else:
            sup.terminate_child("c")
        with pytest.raises(SupervisorError) as caught:
            sup.start_child(spec)
        assert caught.value.code == "already_present"
        assert sup.restart_child("c").ask("ping") == "pong"


# --- hanging restart loop ------------------------------------------------------------


class TestHangingRestartLoop:
    @pytest.fixture
    def broken(self) -> threading.Event:
        """While set, the looping child's start function fails."""
        return threading.Event()

    def _loop(
        self, harness: Harness, broken: threading.Event, strategy: str
    ) -> tuple[SupervisorRef, Starter, ChildSpec]:
        looping = Starter("c2", fails=lambda _call: broken.is_set())
        spec = looping.spec()
        sup = harness.start(
            [CrashWorker.spec("c1"), spec, CrashWorker.spec("c3")],
            strategy=strategy,
            max_restarts=10**9,
            max_seconds=3600,
            clock=ManualClock(),
        )
        broken.set()
        CrashWorker.crash(sup.whereis("c2"))
        wait_for(lambda: looping.calls >= 5, 5.0, message="a restart loop")
        return sup, looping, spec

    def test_child_in_a_failing_restart_loop_is_listed_as_restarting(
        self, harness: Harness, broken: threading.Event
    ) -> None:
        """OTP supervisor_SUITE: hanging_restart_loop."""
        sup, _looping, _spec = self._loop(harness, broken, "one_for_one")
        info = sup.which_child("c2")
        assert info.status == "restarting"
        assert info.ref is None
        assert sup.count_children() == counts(3, 2, 0, 3)
        assert sup.which_child("c1").status == "running"

    def test_admin_calls_on_a_looping_child_answer_with_otp_errors(
        self, harness: Harness, broken: threading.Event
    ) -> None:
        """OTP supervisor_SUITE: hanging_restart_loop."""
        sup, _looping, spec = self._loop(harness, broken, "one_for_one")
        expected: list[tuple[Callable[[], Any], str]] = [
            (lambda: sup.start_child(spec), "already_present"),
            (lambda: sup.restart_child("c2"), "restarting"),
            (lambda: sup.delete_child("c2"), "restarting"),
        ]
        for call, code in expected:
            with pytest.raises(SupervisorError) as caught:
                call()
            assert caught.value.code == code

    def test_terminate_child_ends_the_restart_loop(self, harness: Harness, broken: threading.Event) -> None:
        """OTP supervisor_SUITE: hanging_restart_loop."""
        sup, looping, _spec = self._loop(harness, broken, "one_for_one")
        sup.terminate_child("c2")
        info = sup.which_child("c2")
        assert info.status == "terminated"
        assert info.ref is None
        calls = looping.calls
        sup.count_children()  # a retry queued before terminate_child has been handled now
        assert looping.calls == calls
        broken.clear()
        assert sup.restart_child("c2").ask("ping") == "pong"

    def test_supervisor_can_be_stopped_during_a_restart_loop(
        self, harness: Harness, broken: threading.Event
    ) -> None:
        """OTP supervisor_SUITE: hanging_restart_loop."""
        sup, _looping, _spec = self._loop(harness, broken, "one_for_one")
        c1 = sup.whereis("c1")
        assert sup.stop(timeout=5.0) is True
        assert sup.exit_reason == Normal()
        assert c1.exit_reason == Shutdown()

    def test_rest_for_one_loop_leaves_later_siblings_down_and_earlier_ones_untouched(
        self, harness: Harness, broken: threading.Event
    ) -> None:
        """OTP supervisor_SUITE: hanging_restart_loop_rest_for_one."""
        clock = ManualClock()
        looping = Starter("c2", fails=lambda _call: broken.is_set())
        sup = harness.start(
            [CrashWorker.spec("c1"), looping.spec(), CrashWorker.spec("c3")],
            strategy="rest_for_one",
            max_restarts=10**9,
            max_seconds=3600,
            clock=clock,
        )
        c1 = sup.whereis("c1")
        old_c3 = sup.whereis("c3")
        broken.set()
        CrashWorker.crash(sup.whereis("c2"))
        wait_for(lambda: looping.calls >= 5, 5.0, message="a restart loop")
        assert old_c3.wait_for_exit(5.0)
        assert old_c3.exit_reason == Shutdown()
        assert sup.which_child("c2").status == "restarting"
        assert sup.whereis("c3") is None
        assert sup.whereis("c1") is c1
        assert sup.count_children() == counts(3, 1, 0, 3)

        sup.terminate_child("c2")
        assert sup.whereis("c2") is None
        assert sup.whereis("c3") is None
        assert sup.whereis("c1") is c1
        broken.clear()
        assert sup.restart_child("c2").ask("ping") == "pong"
        assert sup.whereis("c3") is None
        assert sup.whereis("c1") is c1
