"""Child specs, supervisor flags and what a start function may return.

Ports of OTP ``supervisor_SUITE`` behaviours 2-4 and 6-8 (see
``../shared/reference/otp-supervision.md`` §2). OTP's ``modules`` key and the
``extra_return`` start result (item 12) have no counterpart here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pykka
import pytest
from supervision_support import CountingStart, Harness

from supervisors import (
    ChildSpec,
    ChildSpecError,
    StartChildError,
    Supervisor,
    SupervisorError,
    check_child_specs,
)
from supervisors.testing import CrashWorker


def build(**fields: Any) -> ChildSpec:
    """Construct a ChildSpec from loosely typed fields (for invalid values)."""
    return ChildSpec(**fields)


def worker_start() -> Any:
    return CrashWorker.start()


def ignore() -> None:
    return None


class BareActor(pykka.ThreadingActor):
    """A plain pykka actor: not a supervisors.Actor, so it cannot be supervised."""


# --- defaults (get_childspec) --------------------------------------------------------


class TestChildSpecDefaults:
    def test_get_childspec_fills_in_otp_defaults_for_a_worker(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_map."""
        sup = harness.start([ChildSpec("w", worker_start)])
        spec = sup.get_childspec("w")
        assert spec.id == "w"
        assert spec.restart == "permanent"
        assert spec.shutdown == 5.0
        assert spec.type == "worker"
        assert spec.significant is False
        assert spec.backoff is None

    def test_get_childspec_defaults_a_supervisor_child_to_infinity_shutdown(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_map."""
        sup = harness.start(
            [ChildSpec("inner", lambda: Supervisor.start([], name="inner"), type="supervisor")]
        )
        spec = sup.get_childspec("inner")
        assert spec.type == "supervisor"
        assert spec.shutdown == "infinity"
        assert spec.restart == "permanent"

    def test_get_childspec_keeps_the_values_given(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_map."""
        sup = harness.start([ChildSpec("w", worker_start, restart="transient", shutdown="brutal_kill")])
        spec = sup.get_childspec("w")
        assert spec.restart == "transient"
        assert spec.shutdown == "brutal_kill"

    def test_get_childspec_of_an_unknown_id_is_not_found(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_map."""
        sup = harness.start([ChildSpec("w", worker_start)])
        with pytest.raises(SupervisorError) as caught:
            sup.get_childspec("nobody")
        assert caught.value.code == "not_found"


# --- validation ----------------------------------------------------------------------


class TestChildSpecValidation:
    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"id": "", "start": worker_start}, "missing_id"),
            ({"id": None, "start": worker_start}, "missing_id"),
            ({"id": "w", "start": None}, "missing_start"),
            ({"id": "w", "start": "not callable"}, "missing_start"),
            ({"id": "w", "start": worker_start, "restart": "forever"}, "invalid_restart"),
            ({"id": "w", "start": worker_start, "shutdown": -1}, "invalid_shutdown"),
            ({"id": "w", "start": worker_start, "shutdown": -0.5}, "invalid_shutdown"),
            ({"id": "w", "start": worker_start, "shutdown": "never"}, "invalid_shutdown"),
            ({"id": "w", "start": worker_start, "type": "daemon"}, "invalid_type"),
            ({"id": "w", "start": worker_start, "significant": "yes"}, "invalid_significant"),
            (
                {"id": "w", "start": worker_start, "significant": True, "restart": "permanent"},
                "invalid_significant",
            ),
        ],
        ids=[
            "empty-id",
            "no-id",
            "no-start",
            "start-not-callable",
            "bad-restart",
            "negative-int-shutdown",
            "negative-float-shutdown",
            "bad-shutdown-word",
            "bad-type",
            "non-bool-significant",
            "significant-permanent",
        ],
    )
    def test_an_invalid_spec_is_rejected_when_constructed_with_a_stable_code(
        self, fields: dict[str, Any], code: str
    ) -> None:
        """OTP supervisor_SUITE: sup_start_map_faulty_specs."""
        with pytest.raises(ChildSpecError) as caught:
            build(**fields)
        assert caught.value.code == code

    def test_a_zero_shutdown_is_valid(self) -> None:
        """OTP supervisor_SUITE: child_specs (shutdown 0 is allowed)."""
        assert ChildSpec("w", worker_start, shutdown=0).shutdown == 0.0

    def test_check_child_specs_accepts_valid_specs_without_starting_anything(self) -> None:
        """OTP supervisor_SUITE: child_specs."""
        start = CountingStart("w")
        check_child_specs([ChildSpec("a", start), ChildSpec("b", start)])
        assert start.calls == 0

    def test_check_child_specs_rejects_duplicate_ids(self) -> None:
        """OTP supervisor_SUITE: child_specs (duplicate_child_name)."""
        with pytest.raises(ChildSpecError) as caught:
            check_child_specs([ChildSpec("a", worker_start), ChildSpec("a", worker_start)])
        assert caught.value.code == "duplicate_child_id"

    @pytest.mark.parametrize("argument", [42, "specs", None], ids=["int", "str", "none"])
    def test_check_child_specs_of_a_non_list_is_badarg(self, argument: Any) -> None:
        """OTP supervisor_SUITE: child_specs ({badarg, _})."""
        with pytest.raises(ChildSpecError) as caught:
            check_child_specs(argument)
        assert caught.value.code == "badarg"

    def test_check_child_specs_rejects_a_significant_child_when_auto_shutdown_is_never(
        self,
    ) -> None:
        """OTP supervisor_SUITE: child_specs_map (significant needs auto_shutdown)."""
        spec = ChildSpec("t", worker_start, restart="transient", significant=True)
        with pytest.raises(ChildSpecError) as caught:
            check_child_specs([spec])
        assert caught.value.code == "invalid_significant"
        check_child_specs([spec], auto_shutdown="any_significant")

    def test_supervisor_with_duplicate_ids_fails_to_start_and_starts_nothing(self) -> None:
        """OTP supervisor_SUITE: sup_start_map_faulty_specs (start_spec error from init)."""
        start = CountingStart("a")
        with pytest.raises(ChildSpecError) as caught:
            Supervisor.start([ChildSpec("a", start), ChildSpec("a", start)])
        assert caught.value.code == "duplicate_child_id"
        assert start.calls == 0

    def test_start_child_rejects_a_significant_child_under_auto_shutdown_never(
        self, harness: Harness
    ) -> None:
        """OTP supervisor_SUITE: sup_start_map_faulty_specs (start_child validates)."""
        sup = harness.start([])
        start = CountingStart("t")
        with pytest.raises(ChildSpecError) as caught:
            sup.start_child(ChildSpec("t", start, restart="transient", significant=True))
        assert caught.value.code == "invalid_significant"
        assert start.calls == 0
        assert sup.which_children() == []

    def test_start_child_rejects_something_that_is_not_a_child_spec(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_map_faulty_specs."""
        sup = harness.start([])
        with pytest.raises(ChildSpecError):
            sup.start_child({"id": "w", "start": worker_start})  # type: ignore[arg-type]
        assert sup.which_children() == []
        assert sup.is_alive()


# --- supervisor flags ----------------------------------------------------------------


class TestSupervisorFlags:
    @pytest.mark.parametrize(
        ("flags", "code"),
        [
            ({"strategy": "one_for_many"}, "invalid_strategy"),
            ({"strategy": "simple_one_for_one"}, "invalid_strategy"),
            ({"max_restarts": -1}, "invalid_intensity"),
            ({"max_restarts": math.inf}, "invalid_intensity"),
            ({"max_restarts": 1.5}, "invalid_intensity"),
            ({"max_seconds": 0}, "invalid_period"),
            ({"max_seconds": -1.0}, "invalid_period"),
            ({"max_seconds": math.inf}, "invalid_period"),
            ({"auto_shutdown": "sometimes"}, "invalid_auto_shutdown"),
        ],
        ids=[
            "unknown-strategy",
            "simple-one-for-one",
            "negative-intensity",
            "infinite-intensity",
            "fractional-intensity",
            "zero-period",
            "negative-period",
            "infinite-period",
            "bad-auto-shutdown",
        ],
    )
    def test_an_invalid_flag_fails_the_start_with_its_code_and_starts_nothing(
        self, flags: dict[str, Any], code: str
    ) -> None:
        """OTP supervisor_SUITE: sup_flags."""
        start = CountingStart("w")
        with pytest.raises(ChildSpecError) as caught:
            Supervisor.start([ChildSpec("w", start)], **flags)
        assert caught.value.code == code
        assert start.calls == 0

    def test_flags_given_as_strings_are_accepted(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_flags (valid flags start)."""
        sup = harness.start(
            [ChildSpec("w", worker_start)],
            strategy="rest_for_one",
            max_restarts=0,
            max_seconds=1,
            auto_shutdown="all_significant",
        )
        assert sup.is_alive()
        assert sup.tree().strategy == "rest_for_one"


# --- what a start function returns ---------------------------------------------------


class TestStartResults:
    def test_permanent_child_whose_start_ignores_is_kept_without_a_ref(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_ignore_child."""
        sup = harness.start([])
        assert sup.start_child(ChildSpec("ignored", ignore)) is None
        info = sup.which_child("ignored")
        assert info.ref is None
        assert info.status == "terminated"
        ref = sup.start_child(ChildSpec("w", worker_start))
        assert ref.ask("ping") == "pong"
        assert sup.count_children() == {"specs": 2, "active": 1, "supervisors": 0, "workers": 2}

    def test_permanent_child_whose_start_ignores_at_init_is_kept_without_a_ref(
        self, harness: Harness
    ) -> None:
        """OTP supervisor_SUITE: sup_start_ignore_child (from init)."""
        sup = harness.start([ChildSpec("ignored", ignore), ChildSpec("w", worker_start)])
        assert sup.whereis("ignored") is None
        assert sup.count_children() == {"specs": 2, "active": 1, "supervisors": 0, "workers": 2}

    def test_temporary_child_whose_start_ignores_at_init_is_not_recorded(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_ignore_temporary_child."""
        sup = harness.start([ChildSpec("ignored", ignore, restart="temporary"), ChildSpec("w", worker_start)])
        assert [info.id for info in sup.which_children()] == ["w"]
        assert sup.count_children() == {"specs": 1, "active": 1, "supervisors": 0, "workers": 1}

    def test_temporary_child_whose_start_ignores_in_start_child_is_not_recorded(
        self, harness: Harness
    ) -> None:
        """OTP supervisor_SUITE: sup_start_ignore_temporary_child_start_child."""
        sup = harness.start([ChildSpec("w", worker_start)])
        assert sup.start_child(ChildSpec("ignored", ignore, restart="temporary")) is None
        assert [info.id for info in sup.which_children()] == ["w"]
        assert sup.count_children() == {"specs": 1, "active": 1, "supervisors": 0, "workers": 1}
        with pytest.raises(SupervisorError) as caught:
            sup.which_child("ignored")
        assert caught.value.code == "not_found"

    def test_start_child_whose_start_raises_adds_nothing(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_child_returns_error."""
        sup = harness.start([])
        error = RuntimeError("cannot start")

        def failing() -> Any:
            raise error

        with pytest.raises(StartChildError) as caught:
            sup.start_child(ChildSpec("bad", failing))
        assert caught.value.child_id == "bad"
        assert caught.value.__cause__ is error
        assert sup.which_children() == []
        assert sup.is_alive()

    def test_start_child_whose_actor_fails_in_on_start_adds_nothing(self, harness: Harness) -> None:
        """OTP supervisor_SUITE: sup_start_child_returns_error (init fails)."""
        sup = harness.start([])
        error = ValueError("on_start failed")
        with pytest.raises(StartChildError) as caught:
            sup.start_child(CrashWorker.spec("bad", fail_start=error))
        assert caught.value.child_id == "bad"
        assert caught.value.__cause__ is error
        assert sup.which_children() == []
        assert sup.count_children()["specs"] == 0

    @pytest.mark.parametrize(
        "result",
        [lambda: "garbage", lambda: 42, BareActor.start],
        ids=["string", "int", "bare-pykka-actor"],
    )
    def test_start_child_whose_start_returns_garbage_adds_nothing(
        self, harness: Harness, result: Callable[[], Any]
    ) -> None:
        """OTP supervisor_SUITE: sup_start_child_returns_error (unexpected value)."""
        sup = harness.start([])
        with pytest.raises(StartChildError) as caught:
            sup.start_child(ChildSpec("bad", result))
        assert caught.value.child_id == "bad"
        assert isinstance(caught.value.__cause__, TypeError)
        assert sup.which_children() == []
        assert sup.is_alive()
