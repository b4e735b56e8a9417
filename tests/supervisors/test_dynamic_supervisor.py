"""``DynamicSupervisor``: ports of OTP's simple_one_for_one and Elixir's DynamicSupervisor tests.

Each test's docstring names the original case. Under a DynamicSupervisor a child's id is a
label (it may repeat) and a child is addressed by its ref.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pykka
import pytest
from supervision_support import counts, exited

from supervisors import (
    Backoff,
    ChildSpec,
    ChildSpecError,
    Crashed,
    DynamicSupervisor,
    Killed,
    Normal,
    Shutdown,
    StartChildError,
    Supervisor,
    SupervisorError,
    SupervisorRef,
)
from supervisors.testing import CrashWorker, ManualClock, wait_for, wait_until_restarted

TIMEOUT = 5.0
ZERO = {"specs": 0, "active": 0, "supervisors": 0, "workers": 0}


class Script:
    """A start function that plays a script of outcomes, one per call (the last repeats).

    ``ok`` starts a CrashWorker, ``ignore`` returns None, ``error`` raises, ``garbage``
    returns something that is not a ref.
    """

    def __init__(self, *outcomes: str) -> None:
        self.outcomes = outcomes
        self.calls = 0
        self.error = RuntimeError("cannot start")

    def __call__(self) -> Any:
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if outcome == "ok":
            return CrashWorker.start()
        if outcome == "ignore":
            return None
        if outcome == "error":
            raise self.error
        return 42


def crash_and_settle(sup: SupervisorRef, ref: Any, error: BaseException | None = None) -> None:
    """Crash a child and return once its supervisor has handled the exit."""
    event = exited(ref)
    CrashWorker.crash(ref, error)
    assert event.wait(TIMEOUT)
    if sup.is_alive():
        with contextlib.suppress(SupervisorError):
            sup.count_children()  # a round trip: the exit was queued before this call


def reasons_of(refs: list[Any]) -> list[Any]:
    for ref in refs:
        assert ref.wait_for_exit(TIMEOUT)
    return [ref.exit_reason for ref in refs]


class TestFlags:
    def test_defaults_allow_three_restarts_in_five_seconds(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'init/1 set default options' (intensity 3, period 5)."""
        clock = ManualClock()
        sup = DynamicSupervisor.start(clock=clock)
        stop_later.append(sup)
        sup.start_child(CrashWorker.spec("w"))
        for _ in range(3):
            crash_and_settle(sup, sup.whereis("w"))
        assert sup.is_alive()
        clock.advance(5.01)
        for _ in range(3):
            crash_and_settle(sup, sup.whereis("w"))
        assert sup.is_alive()
        crash_and_settle(sup, sup.whereis("w"))
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    @pytest.mark.parametrize(
        ("options", "code"),
        [
            ({"max_restarts": -1}, "invalid_intensity"),
            ({"max_seconds": 0}, "invalid_period"),
            ({"max_children": -1}, "invalid_max_children"),
        ],
    )
    def test_invalid_flags_are_refused_with_their_own_code(self, options: dict[str, Any], code: str) -> None:
        """Elixir dynamic_supervisor_test: 'start_link/3 with non-ok init'."""
        with pytest.raises(ChildSpecError) as raised:
            DynamicSupervisor.start(**options)
        assert raised.value.code == code

    def test_auto_shutdown_is_not_an_option(self) -> None:
        """Elixir dynamic_supervisor_test: 'start_link/3 with non-ok init' (auto_shutdown)."""
        with pytest.raises(TypeError):
            DynamicSupervisor.start(auto_shutdown="any_significant")  # type: ignore[call-arg]


class TestAdmin:
    def test_a_new_dynamic_supervisor_has_no_children(self, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'child_adm_simple' (initially empty)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        assert sup.which_children() == []
        assert sup.count_children() == ZERO

    def test_ids_are_labels_that_may_repeat(self, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'child_adm_simple' (children are not named)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        first = sup.start_child(CrashWorker.spec("job"))
        second = sup.start_child(CrashWorker.spec("job"))
        assert first is not second
        assert first.actor_urn != second.actor_urn
        infos = sup.which_children()
        assert [i.id for i in infos] == ["job", "job"]
        assert {i.ref.actor_urn for i in infos} == {first.actor_urn, second.actor_urn}
        assert all(i.status == "running" for i in infos)
        assert sup.count_children() == counts(2, 2, 0, 2)
        assert first.ask("ping", timeout=TIMEOUT) == second.ask("ping", timeout=TIMEOUT)

    def test_children_are_looked_up_by_ref(self, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'which_children_simple_one_for_one', 'sup_start_map_simple'."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        spec = CrashWorker.spec("job", restart="transient", shutdown=1.5)
        ref = sup.start_child(spec)
        info = sup.which_child(ref)
        assert (info.id, info.ref, info.type, info.status) == ("job", ref, "worker", "running")
        got = sup.get_childspec(ref)
        assert (got.id, got.restart, got.shutdown, got.type) == (
            "job",
            "transient",
            1.5,
            "worker",
        )

    def test_terminate_child_by_id_is_refused(self, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'child_adm_simple' (terminate by id is an error)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        ref = sup.start_child(CrashWorker.spec("job"))
        with pytest.raises(SupervisorError):
            sup.terminate_child("job")
        assert ref.is_alive()
        assert sup.count_children() == counts(1, 1, 0, 1)

    def test_terminate_child_by_ref_stops_only_that_child(self, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'child_adm_simple' (terminate by pid)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        first = sup.start_child(CrashWorker.spec("job"))
        second = sup.start_child(CrashWorker.spec("job"))
        assert sup.terminate_child(first) is None
        assert not first.is_alive()
        assert first.exit_reason == Shutdown()
        assert second.ask("ping", timeout=TIMEOUT) == "pong"
        assert [i.ref for i in sup.which_children()] == [second]
        assert sup.count_children() == counts(1, 1, 0, 1)

    def test_terminating_a_live_actor_that_is_not_a_child_is_not_found(self, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'child_adm_simple' (a foreign pid is untouched)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        stranger = CrashWorker.start()
        stop_later.append(stranger)
        with pytest.raises(SupervisorError) as raised:
            sup.terminate_child(stranger)
        assert raised.value.code == "not_found"
        assert stranger.ask("ping", timeout=TIMEOUT) == "pong"

    @pytest.mark.parametrize("call", ["restart_child", "delete_child"])
    def test_restart_child_and_delete_child_are_refused(self, call: str, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'child_adm_simple' (restart/delete → simple_one_for_one)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        ref = sup.start_child(CrashWorker.spec("job"))
        sup.terminate_child(ref)
        with pytest.raises(SupervisorError) as raised:
            getattr(sup, call)("job")
        assert raised.value.code == "not_supported"
        assert sup.count_children() == ZERO

    def test_admin_calls_to_a_stopped_dynamic_supervisor_raise_noproc(self) -> None:
        """OTP supervisor_SUITE: 'child_adm' (calls to a dead supervisor → noproc)."""
        sup = DynamicSupervisor.start()
        sup.stop()
        with pytest.raises(SupervisorError) as raised:
            sup.start_child(CrashWorker.spec("job"))
        assert raised.value.code == "noproc"


class TestStartChild:
    def test_start_child_returns_a_ref_that_answers(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with different returns' (ok)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        ref = sup.start_child(ChildSpec("job", Script("ok")))
        assert ref.ask("ping", timeout=TIMEOUT) == "pong"

    def test_a_start_that_ignores_adds_nothing(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with different returns' (ignore)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        assert sup.start_child(ChildSpec("job", Script("ignore"))) is None
        assert sup.which_children() == []
        assert sup.count_children() == ZERO

    @pytest.mark.parametrize("error", [RuntimeError("oops"), SystemExit(1)], ids=type)
    def test_a_start_that_raises_is_a_start_error_and_the_supervisor_survives(
        self, error: BaseException, stop_later: list[Any]
    ) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with throw/error/exit'."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)

        def start() -> Any:
            raise error

        with pytest.raises(StartChildError) as raised:
            sup.start_child(ChildSpec("job", start))
        assert raised.value.child_id == "job"
        assert raised.value.__cause__ is error
        assert sup.is_alive()
        assert sup.count_children() == ZERO

    def test_a_child_whose_on_start_fails_is_a_start_error(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with different returns' (error)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        error = ValueError("bad init")
        with pytest.raises(StartChildError) as raised:
            sup.start_child(CrashWorker.spec("job", fail_start=error))
        assert raised.value.__cause__ is error
        assert sup.count_children() == ZERO

    def test_a_start_that_returns_garbage_is_a_start_error(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with different returns' (unknown)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        with pytest.raises(StartChildError):
            sup.start_child(ChildSpec("job", Script("garbage")))
        assert sup.which_children() == []

    def test_a_plain_pykka_actor_is_refused_and_stopped(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with different returns' (adapted:
        a child the supervisor cannot observe is an error, not a silent leak)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        started: list[Any] = []

        def start() -> Any:
            ref = pykka.ThreadingActor.start()
            started.append(ref)
            return ref

        with pytest.raises(StartChildError):
            sup.start_child(ChildSpec("job", start))
        wait_for(lambda: not started[0].is_alive(), TIMEOUT)
        assert sup.count_children() == ZERO

    def test_failed_start_child_calls_do_not_count_toward_intensity(self, stop_later: list[Any]) -> None:
        """OTP supervisor.erl docs: a failed start_child does not touch restart intensity."""
        sup = DynamicSupervisor.start(max_restarts=1, clock=ManualClock())
        stop_later.append(sup)
        for _ in range(5):
            with pytest.raises(StartChildError):
                sup.start_child(ChildSpec("bad", Script("error")))
        ref = sup.start_child(CrashWorker.spec("good"))
        crash_and_settle(sup, ref)
        assert sup.is_alive()
        assert sup.which_child("good").restarts == 1

    @pytest.mark.parametrize(
        ("make", "code"),
        [
            (lambda: ChildSpec("", CrashWorker.start), "missing_id"),
            (lambda: CrashWorker.spec("job", shutdown=-1), "invalid_shutdown"),
            (lambda: ChildSpec("job", "not callable"), "missing_start"),  # type: ignore[arg-type]
            (lambda: CrashWorker.spec("job", restart="sometimes"), "invalid_restart"),
        ],
    )
    def test_an_invalid_spec_is_refused_when_built(self, make: Any, code: str) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with invalid child spec'."""
        with pytest.raises(ChildSpecError) as raised:
            make()
        assert raised.value.code == code

    def test_start_child_refuses_something_that_is_not_a_spec(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with invalid child spec' (%{})."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        with pytest.raises(ChildSpecError) as raised:
            sup.start_child({})  # type: ignore[arg-type]
        assert raised.value.code == "invalid_child_spec"

    def test_start_child_refuses_a_significant_child(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with invalid child spec' (significant)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        with pytest.raises(ChildSpecError) as raised:
            sup.start_child(CrashWorker.spec("job", restart="transient", significant=True))
        assert raised.value.code == "invalid_significant"
        assert sup.count_children() == ZERO

    @pytest.mark.parametrize("shutdown", [0, 1])
    def test_a_shutdown_of_zero_is_valid(self, shutdown: int, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with valid shutdown'."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        ref = sup.start_child(CrashWorker.spec("job", shutdown=shutdown))
        assert ref.ask("ping", timeout=TIMEOUT) == "pong"
        sup.terminate_child(ref)
        assert ref.wait_for_exit(TIMEOUT)
        assert sup.count_children() == ZERO


class TestRestarts:
    def test_a_crashed_child_is_restarted_alone(self, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'simple_one_for_one' (only the crashed child restarts)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        a = sup.start_child(CrashWorker.spec("a"))
        b = sup.start_child(CrashWorker.spec("b"))
        c = sup.start_child(CrashWorker.spec("c"))
        CrashWorker.crash(b)
        new_b = wait_until_restarted(sup, "b", previous=b)
        assert new_b.ask("ping", timeout=TIMEOUT) == "pong"
        assert b.exit_reason.is_crash
        assert sup.whereis("a") is a
        assert sup.whereis("c") is c
        assert a.is_alive()
        assert c.is_alive()
        assert sup.which_child("b").restarts == 1
        assert sup.count_children() == counts(3, 3, 0, 3)

    def test_exceeding_the_intensity_ends_the_supervisor_with_shutdown(self) -> None:
        """OTP supervisor_SUITE: 'simple_one_for_one' (intensity exceeded → shutdown)."""
        sup = DynamicSupervisor.start(max_restarts=2, clock=ManualClock())
        other = sup.start_child(CrashWorker.spec("other"))
        sup.start_child(CrashWorker.spec("w"))
        crash_and_settle(sup, sup.whereis("w"))
        crash_and_settle(sup, sup.whereis("w"))
        assert sup.is_alive()
        crash_and_settle(sup, sup.whereis("w"))
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()
        assert reasons_of([other]) == [Shutdown()]

    @pytest.mark.parametrize(
        ("restart", "how", "restarted"),
        [
            ("permanent", "stop", True),
            ("permanent", "finish", True),
            ("permanent", "finish_info", True),
            ("permanent", "crash", True),
            ("transient", "stop", False),
            ("transient", "finish", False),
            ("transient", "finish_info", False),
            ("transient", "crash", True),
            ("temporary", "stop", False),
            ("temporary", "finish", False),
            ("temporary", "finish_info", False),
            ("temporary", "crash", False),
        ],
    )
    def test_the_restart_table_applies_to_dynamic_children(
        self, restart: str, how: str, restarted: bool, stop_later: list[Any]
    ) -> None:
        """Elixir dynamic_supervisor_test: 'temporary child is not restarted regardless of
        reason', 'transient child is restarted unless normal/shutdown/{shutdown, _}',
        'permanent child is restarted regardless of reason'."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        ref = sup.start_child(CrashWorker.spec("job", restart=restart))
        event = exited(ref)
        if how == "stop":
            ref.stop(block=False)
        elif how == "finish":
            CrashWorker.finish_with(ref)
        elif how == "finish_info":
            CrashWorker.finish_with(ref, "signal")
        else:
            CrashWorker.crash(ref)
        assert event.wait(TIMEOUT)
        if restarted:
            new = wait_until_restarted(sup, "job", previous=ref)
            assert new.ask("ping", timeout=TIMEOUT) == "pong"
            assert sup.count_children() == counts(1, 1, 0, 1)
        else:
            assert sup.count_children() == ZERO
            assert sup.which_children() == []
        assert sup.is_alive()

    def test_a_restart_reuses_the_original_start_function(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'child is restarted with different values' (ok)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        script = Script("ok")
        ref = sup.start_child(ChildSpec("job", script))
        crash_and_settle(sup, ref)
        assert script.calls == 2
        assert sup.count_children() == counts(1, 1, 0, 1)

    def test_a_restart_that_ignores_removes_the_child(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'child is restarted with different values' (ignore)."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        script = Script("ok", "ignore")
        kept = sup.start_child(CrashWorker.spec("kept"))
        ref = sup.start_child(ChildSpec("job", script))
        crash_and_settle(sup, ref)
        assert script.calls == 2
        assert [i.ref for i in sup.which_children()] == [kept]
        assert sup.count_children() == counts(1, 1, 0, 1)

    def test_a_restart_that_fails_leaves_the_child_restarting(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'child is restarted with different values' (error;
        adapted: a backoff on a manual clock holds the child between retries)."""
        clock = ManualClock()
        sup = DynamicSupervisor.start(max_restarts=100, clock=clock)
        stop_later.append(sup)
        script = Script("ok", "error")
        backoff = Backoff(initial=1.0, jitter=0.0)
        ref = sup.start_child(ChildSpec("job", script, backoff=backoff))
        crash_and_settle(sup, ref)
        clock.advance(1.0)
        wait_for(lambda: script.calls == 2, TIMEOUT)
        info = sup.which_child("job")
        assert (info.status, info.ref) == ("restarting", None)
        assert sup.count_children() == counts(1, 0, 0, 1)

    def test_a_failed_restart_is_retried_until_it_succeeds(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'child is restarted when trying again'."""
        sup = DynamicSupervisor.start(max_restarts=2, clock=ManualClock())
        stop_later.append(sup)
        script = Script("ok", "error", "ok")
        ref = sup.start_child(ChildSpec("job", script))
        CrashWorker.crash(ref)
        new = wait_until_restarted(sup, "job", previous=ref)
        assert new.ask("ping", timeout=TIMEOUT) == "pong"
        assert script.calls == 3
        assert sup.is_alive()
        assert sup.count_children() == counts(1, 1, 0, 1)

    def test_a_restart_that_always_fails_triggers_max_restarts(self) -> None:
        """Elixir dynamic_supervisor_test: 'child triggers maximum restarts'."""
        sup = DynamicSupervisor.start(max_restarts=1, clock=ManualClock())
        script = Script("ok", "error")
        ref = sup.start_child(ChildSpec("job", script))
        CrashWorker.crash(ref)
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    def test_every_retry_counts_toward_intensity(self) -> None:
        """Elixir dynamic_supervisor_test: 'child triggers maximum intensity when trying
        again' (max_restarts 10: ten failed attempts, then the supervisor gives up)."""
        sup = DynamicSupervisor.start(max_restarts=10, clock=ManualClock())
        script = Script("ok", "error")
        ref = sup.start_child(ChildSpec("job", script))
        CrashWorker.crash(ref)
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()
        assert script.calls == 1 + 10

    @pytest.mark.parametrize("restart", ["permanent", "transient"])
    def test_a_restart_returning_ignore_removes_the_child(self, restart: str, stop_later: list[Any]) -> None:
        """OTP supervisor_SUITE: 'simple_one_for_one_restart_ignore'."""
        sup = DynamicSupervisor.start(max_restarts=10)
        stop_later.append(sup)
        script = Script("ok", "ok", "ok", "ignore")
        ref = sup.start_child(ChildSpec("job", script, restart=restart))
        for _ in range(2):
            CrashWorker.crash(ref)
            ref = wait_until_restarted(sup, "job", previous=ref)
        crash_and_settle(sup, ref)
        assert script.calls == 4
        assert sup.is_alive()
        assert sup.which_children() == []
        assert sup.count_children() == ZERO


class TestMaxChildren:
    def test_max_children_zero_refuses_every_child(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with max_children'."""
        sup = DynamicSupervisor.start(max_children=0)
        stop_later.append(sup)
        script = Script("ok")
        with pytest.raises(SupervisorError) as raised:
            sup.start_child(ChildSpec("job", script))
        assert raised.value.code == "max_children"
        assert script.calls == 0

    def test_a_slot_is_freed_when_a_child_is_terminated(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'start_child/2 with max_children' (limit 1)."""
        sup = DynamicSupervisor.start(max_children=1)
        stop_later.append(sup)
        ref = sup.start_child(CrashWorker.spec("a"))
        with pytest.raises(SupervisorError) as raised:
            sup.start_child(CrashWorker.spec("b"))
        assert raised.value.code == "max_children"
        sup.terminate_child(ref)
        assert sup.start_child(CrashWorker.spec("b")).ask("ping", timeout=TIMEOUT) == "pong"

    def test_a_child_waiting_to_restart_occupies_a_slot(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'restarting on exit children counted in
        max_children'."""
        clock = ManualClock()
        sup = DynamicSupervisor.start(max_children=1, clock=clock)
        stop_later.append(sup)
        spec = ChildSpec("a", CrashWorker.start, backoff=Backoff(initial=1.0, jitter=0.0))
        crash_and_settle(sup, sup.start_child(spec))
        assert sup.which_child("a").status == "restarting"
        with pytest.raises(SupervisorError) as raised:
            sup.start_child(CrashWorker.spec("b"))
        assert raised.value.code == "max_children"
        clock.advance(1.0)
        wait_until_restarted(sup, "a")
        with pytest.raises(SupervisorError):
            sup.start_child(CrashWorker.spec("b"))

    def test_a_child_whose_restart_failed_occupies_a_slot(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'restarting on init children counted in
        max_children'."""
        clock = ManualClock()
        sup = DynamicSupervisor.start(max_children=1, max_restarts=100, clock=clock)
        stop_later.append(sup)
        script = Script("ok", "error")
        backoff = Backoff(initial=1.0, jitter=0.0)
        crash_and_settle(sup, sup.start_child(ChildSpec("a", script, backoff=backoff)))
        clock.advance(1.0)
        wait_for(lambda: script.calls == 2, TIMEOUT)
        assert sup.count_children() == counts(1, 0, 0, 1)
        with pytest.raises(SupervisorError) as raised:
            sup.start_child(CrashWorker.spec("b"))
        assert raised.value.code == "max_children"


class TestShutdown:
    def test_children_are_stopped_in_parallel(self) -> None:
        """OTP supervisor_SUITE: 'simple_one_for_one_shutdown' (three 0.3 s cleanups take
        well under 0.9 s)."""
        sup = DynamicSupervisor.start()
        refs = [sup.start_child(CrashWorker.spec("slow", stop_delay=0.3)) for _ in range(3)]
        began = time.monotonic()
        assert sup.stop(timeout=TIMEOUT)
        elapsed = time.monotonic() - began
        assert 0.3 <= elapsed < 0.8
        assert reasons_of(refs) == [Shutdown()] * 3
        assert sup.exit_reason == Normal()

    def test_a_child_over_its_budget_is_killed_while_the_others_stop_cleanly(self) -> None:
        """OTP supervisor_SUITE: 'simple_one_for_one_shutdown' (the slow one is killed at the
        budget) and Elixir 'terminates children with expired integer shutdown'."""
        release = threading.Event()
        sup = DynamicSupervisor.start()
        try:
            polite = [sup.start_child(CrashWorker.spec("polite", shutdown=0.5)) for _ in range(2)]
            stuck = sup.start_child(CrashWorker.spec("stuck", shutdown=0.5))
            CrashWorker.block(stuck, release)
            began = time.monotonic()
            sup.stop(timeout=TIMEOUT)
            elapsed = time.monotonic() - began
            assert 0.45 <= elapsed < 1.5
            assert reasons_of(polite) == [Shutdown(), Shutdown()]
            assert stuck.wait_for_exit(0) is False  # abandoned, its thread still busy
        finally:
            release.set()
        assert reasons_of([stuck]) == [Killed()]

    def test_brutal_kill_children_end_killed(self) -> None:
        """Elixir dynamic_supervisor_test: 'terminates children with brutal kill'."""
        sup = DynamicSupervisor.start()
        refs = [sup.start_child(CrashWorker.spec("c", shutdown="brutal_kill")) for _ in range(3)]
        sup.stop()
        assert reasons_of(refs) == [Killed()] * 3

    @pytest.mark.parametrize("shutdown", ["infinity", 1.0])
    def test_children_with_a_budget_end_with_shutdown(self, shutdown: Any) -> None:
        """Elixir dynamic_supervisor_test: 'terminates children with infinity shutdown',
        'terminates children with integer shutdown'."""
        sup = DynamicSupervisor.start()
        refs = [sup.start_child(CrashWorker.spec("c", shutdown=shutdown)) for _ in range(3)]
        sup.stop()
        assert reasons_of(refs) == [Shutdown()] * 3

    def test_mixed_children_each_end_by_their_own_shutdown(self) -> None:
        """Elixir dynamic_supervisor_test: 'terminates with mixed children'."""
        sup = DynamicSupervisor.start()
        gentle = sup.start_child(CrashWorker.spec("gentle", shutdown="infinity"))
        brutal = sup.start_child(CrashWorker.spec("brutal", shutdown="brutal_kill"))
        sup.stop()
        assert reasons_of([gentle, brutal]) == [Shutdown(), Killed()]

    @pytest.mark.parametrize(("shutdown", "reason"), [("brutal_kill", Killed()), (1.0, Shutdown())])
    def test_terminate_child_by_ref_then_again_is_not_found(
        self, shutdown: Any, reason: Any, stop_later: list[Any]
    ) -> None:
        """Elixir dynamic_supervisor_test: 'terminate_child/2 terminates child with brutal
        kill', '... with integer shutdown'."""
        sup = DynamicSupervisor.start()
        stop_later.append(sup)
        ref = sup.start_child(CrashWorker.spec("c", shutdown=shutdown))
        sup.terminate_child(ref)
        assert reasons_of([ref]) == [reason]
        with pytest.raises(SupervisorError) as raised:
            sup.terminate_child(ref)
        assert raised.value.code == "not_found"
        assert sup.count_children() == ZERO

    def test_a_restarting_child_can_be_terminated_by_its_last_ref(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'terminate_child/2 terminates restarting child'."""
        clock = ManualClock()
        sup = DynamicSupervisor.start(clock=clock)
        stop_later.append(sup)
        spec = ChildSpec("c", CrashWorker.start, backoff=Backoff(initial=1.0, jitter=0.0))
        ref = sup.start_child(spec)
        crash_and_settle(sup, ref)
        assert sup.which_child("c").status == "restarting"
        sup.terminate_child(ref)
        assert sup.count_children() == ZERO
        with pytest.raises(SupervisorError) as raised:
            sup.terminate_child(ref)
        assert raised.value.code == "not_found"
        clock.advance(10.0)
        assert sup.count_children() == ZERO

    def test_stopping_cancels_a_pending_restart(self) -> None:
        """OTP supervisor_SUITE: 'hanging_restart_loop_simple' (shut down during a restart
        loop)."""
        clock = ManualClock()
        sup = DynamicSupervisor.start(clock=clock)
        spec = ChildSpec("c", CrashWorker.start, backoff=Backoff(initial=1.0, jitter=0.0))
        crash_and_settle(sup, sup.start_child(spec))
        assert clock.pending == 1
        sup.stop(timeout=TIMEOUT)
        assert clock.pending == 0
        clock.advance(10.0)
        assert sup.exit_reason == Normal()

    def test_a_child_exiting_by_itself_keeps_its_own_reason(self) -> None:
        """OTP supervisor_SUITE: 'sup_stop_non_shutdown_exit_dynamic' (adapted: the child
        finished before the shutdown reached it)."""
        sup = DynamicSupervisor.start()
        ref = sup.start_child(CrashWorker.spec("c", restart="temporary"))
        event = exited(ref)
        CrashWorker.finish_with(ref, "oops")
        assert event.wait(TIMEOUT)
        sup.stop()
        assert ref.exit_reason == Shutdown("oops")
        assert sup.exit_reason == Normal()


class TestCounts:
    def test_counts_stay_exact_with_thousands_of_children(self) -> None:
        """OTP supervisor_SUITE: 'count_children' (1000 then 2000 dynamic children) and
        'count_children_supervisor'."""
        sup = DynamicSupervisor.start()
        try:
            subs = [
                sup.start_child(
                    ChildSpec("sub", lambda: DynamicSupervisor.start(name="sub"), type="supervisor")
                )
                for _ in range(3)
            ]
            assert all(isinstance(s, SupervisorRef) for s in subs)
            refs = [sup.start_child(CrashWorker.spec("w")) for _ in range(1000)]
            assert sup.count_children() == counts(1003, 1003, 3, 1000)
            refs += [sup.start_child(CrashWorker.spec("w")) for _ in range(1000)]
            assert sup.count_children() == counts(2003, 2003, 3, 2000)
            assert len(sup.which_children()) == 2003
            for ref in refs[:500]:
                sup.terminate_child(ref)
            sup.terminate_child(subs[0])
            assert sup.count_children() == counts(1502, 1502, 2, 1500)
        finally:
            sup.stop(timeout=30)
        assert not any(ref.is_alive() for ref in refs)
        assert not any(s.is_alive() for s in subs)

    def test_a_restarting_child_counts_as_a_spec_and_worker_but_not_active(
        self, stop_later: list[Any]
    ) -> None:
        """OTP supervisor_SUITE: 'count_restarting_children'."""
        clock = ManualClock()
        sup = DynamicSupervisor.start(clock=clock)
        stop_later.append(sup)
        sup.start_child(CrashWorker.spec("fine"))
        spec = ChildSpec("c", CrashWorker.start, backoff=Backoff(initial=1.0, jitter=0.0))
        crash_and_settle(sup, sup.start_child(spec))
        assert sup.count_children() == counts(2, 1, 0, 2)
        clock.advance(1.0)
        wait_until_restarted(sup, "c")
        assert sup.count_children() == counts(2, 2, 0, 2)


class TestNames:
    def test_two_supervisors_under_one_parent_may_share_a_name(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'multiple supervisors can be supervised and
        identified with simple child spec' (adapted: a name is a label, ids identify)."""
        parent = Supervisor.start(
            [
                ChildSpec("left", lambda: DynamicSupervisor.start(name="pool"), type="supervisor"),
                ChildSpec("right", lambda: DynamicSupervisor.start(name="pool"), type="supervisor"),
            ],
            name="parent",
        )
        stop_later.append(parent)
        left, right = parent.whereis("left"), parent.whereis("right")
        assert left.name == right.name == "pool"
        assert left != right
        assert left.which_children() == right.which_children() == []
        left.start_child(CrashWorker.spec("job"))
        assert left.count_children()["active"] == 1
        assert right.count_children()["active"] == 0
        tree = parent.tree()
        assert [(n.id, n.kind) for n in tree.children] == [
            ("left", "dynamic_supervisor"),
            ("right", "dynamic_supervisor"),
        ]

    def test_a_second_child_with_a_running_id_is_already_started(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'multiple supervisors can be supervised and
        identified with simple child spec' (already_started)."""
        parent = Supervisor.start(
            [ChildSpec("pool", DynamicSupervisor.start, type="supervisor")], name="parent"
        )
        stop_later.append(parent)
        first = parent.whereis("pool")
        with pytest.raises(SupervisorError) as raised:
            parent.start_child(ChildSpec("pool", DynamicSupervisor.start, type="supervisor"))
        assert raised.value.code == "already_started"
        assert parent.whereis("pool") is first
        assert parent.count_children() == counts(1, 1, 1, 0)

    def test_top_level_supervisors_may_share_a_name(self, stop_later: list[Any]) -> None:
        """Elixir dynamic_supervisor_test: 'multiple supervisors can be supervised and
        identified with simple child spec' (adapted: no global registration)."""
        first = DynamicSupervisor.start(name="same")
        stop_later.append(first)
        second = DynamicSupervisor.start(name="same")
        stop_later.append(second)
        assert first.is_alive()
        assert second.is_alive()
        assert first.tree().id == second.tree().id == "same"
        first.stop()
        assert second.is_alive()


def test_a_crash_in_a_dynamic_child_is_reported_as_crashed(stop_later: list[Any]) -> None:
    """OTP supervisor_SUITE: 'simple_one_for_one' (the crash reason reaches the supervisor)."""
    sup = DynamicSupervisor.start()
    stop_later.append(sup)
    error = RuntimeError("boom")
    ref = sup.start_child(CrashWorker.spec("job"))
    CrashWorker.crash(ref, error)
    wait_until_restarted(sup, "job", previous=ref)
    assert sup.which_child("job").last_exit == Crashed(error)
