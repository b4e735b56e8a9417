"""Significant children and ``auto_shutdown`` (OTP 24+, supervisor_SUITE ``significant_*``)."""

from __future__ import annotations

from typing import Any

import pytest
from supervision_support import exited

from supervisors import (
    ChildSpec,
    ChildSpecError,
    DynamicSupervisor,
    Shutdown,
    Supervisor,
    SupervisorError,
    SupervisorRef,
    check_child_specs,
)
from supervisors.testing import CrashWorker, wait_until_restarted

TIMEOUT = 5.0


def end_child(ref: Any, how: str) -> None:
    """End a worker on its own: a normal stop, ``finish`` (with info) or a crash."""
    if how == "stop":
        ref.stop(block=False)
    elif how == "finish":
        CrashWorker.finish_with(ref)
    elif how == "finish_info":
        CrashWorker.finish_with(ref, "done")
    else:
        CrashWorker.crash(ref)


def end_and_settle(sup: SupervisorRef, child_id: str, how: str) -> None:
    """End a child; return once its supervisor has handled the exit (or has ended)."""
    ref = sup.whereis(child_id)
    event = exited(ref)
    end_child(ref, how)
    assert event.wait(TIMEOUT)
    if sup.is_alive():
        try:
            sup.count_children()  # a round trip behind the queued exit
        except SupervisorError:
            assert sup.wait_for_exit(TIMEOUT)


def assert_alive(sup: SupervisorRef) -> None:
    """The supervisor is alive and answering (a round trip, not just a flag)."""
    sup.count_children()
    assert sup.is_alive()
    assert sup.exit_reason is None


class TestAnySignificant:
    @pytest.mark.parametrize("how", ["stop", "finish", "finish_info", "crash"])
    def test_a_temporary_significant_child_ending_for_any_reason_shuts_the_supervisor_down(
        self, how: str
    ) -> None:
        """OTP supervisor_SUITE: 'significant_temporary'."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("other"),
                CrashWorker.spec("job", restart="temporary", significant=True),
            ],
            auto_shutdown="any_significant",
        )
        other = sup.whereis("other")
        end_child(sup.whereis("job"), how)
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()
        assert other.wait_for_exit(TIMEOUT)
        assert other.exit_reason == Shutdown()

    @pytest.mark.parametrize("how", ["stop", "finish", "finish_info"])
    def test_a_transient_significant_child_ending_normally_shuts_the_supervisor_down(self, how: str) -> None:
        """OTP supervisor_SUITE: 'significant_transient' (normal, shutdown, {shutdown, _})."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("other"),
                CrashWorker.spec("job", restart="transient", significant=True),
            ],
            auto_shutdown="any_significant",
        )
        other = sup.whereis("other")
        end_child(sup.whereis("job"), how)
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()
        assert other.wait_for_exit(TIMEOUT)
        assert other.exit_reason == Shutdown()

    def test_a_crashed_transient_significant_child_is_restarted_instead(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'significant_transient' (abnormal exit → restart)."""
        sup = Supervisor.start(
            [CrashWorker.spec("job", restart="transient", significant=True)],
            auto_shutdown="any_significant",
        )
        stop_later.append(sup)
        old = sup.whereis("job")
        CrashWorker.crash(old)
        new = wait_until_restarted(sup, "job", previous=old)
        assert new.ask("ping", timeout=TIMEOUT) == "pong"
        assert_alive(sup)

    @pytest.mark.parametrize("restart", ["temporary", "transient"])
    def test_terminate_child_on_a_significant_child_never_shuts_down(
        self, restart: str, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'significant_temporary', 'significant_transient'
        (terminate_child does not trigger auto-shutdown)."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("other"),
                CrashWorker.spec("job", restart=restart, significant=True),
            ],
            auto_shutdown="any_significant",
        )
        stop_later.append(sup)
        job = sup.whereis("job")
        sup.terminate_child("job")
        assert job.wait_for_exit(TIMEOUT)
        assert_alive(sup)
        assert sup.whereis("other").ask("ping", timeout=TIMEOUT) == "pong"

    @pytest.mark.parametrize("restart", ["temporary", "transient"])
    def test_a_non_significant_child_never_shuts_down(
        self, restart: str, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'nonsignificant_temporary', 'nonsignificant_transient'."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("job", restart="transient", significant=True),
                CrashWorker.spec("helper", restart=restart),
            ],
            auto_shutdown="any_significant",
        )
        stop_later.append(sup)
        end_and_settle(sup, "helper", "stop")
        assert_alive(sup)
        assert sup.whereis("job").ask("ping", timeout=TIMEOUT) == "pong"

    def test_a_significant_child_terminated_because_a_sibling_died_does_not_shut_down(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'significant_bystander' (one_for_all)."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("boss"),
                CrashWorker.spec("job", restart="transient", significant=True),
            ],
            strategy="one_for_all",
            auto_shutdown="any_significant",
        )
        stop_later.append(sup)
        boss, job = sup.whereis("boss"), sup.whereis("job")
        CrashWorker.crash(boss)
        wait_until_restarted(sup, "boss", previous=boss)
        wait_until_restarted(sup, "job", previous=job)
        assert job.exit_reason == Shutdown()
        assert_alive(sup)

    def test_a_temporary_significant_bystander_is_dropped_without_shutting_down(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'significant_bystander' with a temporary child
        (rest_for_one, like 'temporary_bystander')."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("boss"),
                CrashWorker.spec("job", restart="temporary", significant=True),
            ],
            strategy="rest_for_one",
            auto_shutdown="any_significant",
        )
        stop_later.append(sup)
        boss, job = sup.whereis("boss"), sup.whereis("job")
        CrashWorker.crash(boss)
        wait_until_restarted(sup, "boss", previous=boss)
        assert job.wait_for_exit(TIMEOUT)
        assert_alive(sup)
        assert [i.id for i in sup.which_children()] == ["boss"]


class TestAllSignificant:
    def test_nothing_happens_until_the_last_significant_child_exits(self) -> None:
        """OTP supervisor_SUITE: 'significant_temporary'/'significant_transient' with
        all_significant."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("other"),
                CrashWorker.spec("a", restart="transient", significant=True),
                CrashWorker.spec("b", restart="temporary", significant=True),
            ],
            auto_shutdown="all_significant",
        )
        other = sup.whereis("other")
        end_and_settle(sup, "a", "stop")
        assert_alive(sup)
        assert sup.which_child("a").status == "terminated"
        end_and_settle(sup, "b", "finish")
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()
        assert other.exit_reason == Shutdown()

    def test_a_significant_child_terminated_by_hand_no_longer_counts_as_active(self) -> None:
        """OTP supervisor docs: all_significant shuts down when the last *active*
        significant child exits."""
        sup = Supervisor.start(
            [
                CrashWorker.spec("a", restart="transient", significant=True),
                CrashWorker.spec("b", restart="transient", significant=True),
            ],
            auto_shutdown="all_significant",
        )
        sup.terminate_child("a")
        assert_alive(sup)
        end_and_settle(sup, "b", "stop")
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    def test_a_crashing_significant_child_is_restarted_under_all_significant(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'significant_transient' with all_significant (crash)."""
        sup = Supervisor.start(
            [CrashWorker.spec("a", restart="transient", significant=True)],
            auto_shutdown="all_significant",
        )
        stop_later.append(sup)
        old = sup.whereis("a")
        CrashWorker.crash(old)
        wait_until_restarted(sup, "a", previous=old)
        assert_alive(sup)


def _inner(significant_job: bool = True) -> SupervisorRef:
    return Supervisor.start(
        [
            CrashWorker.spec("inner_worker"),
            CrashWorker.spec("job", restart="temporary", significant=significant_job),
        ],
        auto_shutdown="any_significant",
        name="inner",
    )


class TestNested:
    def test_a_significant_child_supervisor_that_shuts_down_shuts_its_parent_down(self) -> None:
        """OTP supervisor_SUITE: 'significant_escalation'."""
        parent = Supervisor.start(
            [
                CrashWorker.spec("sibling"),
                ChildSpec("inner", _inner, type="supervisor", restart="transient", significant=True),
            ],
            auto_shutdown="any_significant",
            name="parent",
        )
        inner = parent.whereis("inner")
        sibling = parent.whereis("sibling")
        inner.whereis("job").stop(block=False)
        assert inner.wait_for_exit(TIMEOUT)
        assert inner.exit_reason == Shutdown()
        assert parent.wait_for_exit(TIMEOUT)
        assert parent.exit_reason == Shutdown()
        assert sibling.exit_reason == Shutdown()

    def test_a_non_significant_child_supervisor_that_shuts_down_leaves_its_parent_alone(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'significant_escalation' (non-significant variant)."""
        parent = Supervisor.start(
            [
                CrashWorker.spec("sibling"),
                ChildSpec("inner", _inner, type="supervisor", restart="transient"),
            ],
            name="parent",
        )
        stop_later.append(parent)
        inner = parent.whereis("inner")
        event = exited(inner)
        inner.whereis("job").stop(block=False)
        assert event.wait(TIMEOUT)
        assert inner.exit_reason == Shutdown()
        assert_alive(parent)
        info = parent.which_child("inner")
        assert (info.status, info.ref, info.last_exit) == ("terminated", None, Shutdown())
        assert parent.whereis("sibling").ask("ping", timeout=TIMEOUT) == "pong"


class TestValidation:
    def test_a_dynamic_supervisor_rejects_significant_children(self) -> None:
        """OTP supervisor_SUITE: 'significant_simple' (Elixir: invalid_significant)."""
        sup = DynamicSupervisor.start()
        try:
            for restart in ("transient", "temporary"):
                with pytest.raises(ChildSpecError) as raised:
                    sup.start_child(CrashWorker.spec("job", restart=restart, significant=True))
                assert raised.value.code == "invalid_significant"
            assert sup.count_children()["specs"] == 0
        finally:
            sup.stop()

    def test_a_significant_child_needs_auto_shutdown(self) -> None:
        """OTP supervisor docs: significant is only allowed when auto_shutdown is not never."""
        spec = CrashWorker.spec("job", restart="transient", significant=True)
        with pytest.raises(ChildSpecError) as raised:
            Supervisor.start([spec])
        assert raised.value.code == "invalid_significant"
        with pytest.raises(ChildSpecError):
            check_child_specs([spec])
        check_child_specs([spec], auto_shutdown="any_significant")

    def test_start_child_refuses_a_significant_child_when_auto_shutdown_is_never(self) -> None:
        """OTP supervisor docs: {bad_combination, ...} for significant under never."""
        sup = Supervisor.start([])
        try:
            spec = CrashWorker.spec("job", restart="temporary", significant=True)
            with pytest.raises(ChildSpecError) as raised:
                sup.start_child(spec)
            assert raised.value.code == "invalid_significant"
        finally:
            sup.stop()

    def test_a_permanent_child_cannot_be_significant(self) -> None:
        """OTP supervisor docs: significant only for transient or temporary children."""
        with pytest.raises(ChildSpecError) as raised:
            CrashWorker.spec("job", significant=True)
        assert raised.value.code == "invalid_significant"

    def test_start_child_adds_a_significant_child_that_can_shut_down(self) -> None:
        """OTP supervisor_SUITE: 'significant_temporary' (a child added with start_child)."""
        sup = Supervisor.start([CrashWorker.spec("other")], auto_shutdown="any_significant")
        ref = sup.start_child(CrashWorker.spec("job", restart="temporary", significant=True))
        ref.stop(block=False)
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()
