"""Start info (OTP's ``{ok, Pid, Info}``) and a DynamicSupervisor's ``extra_arguments``."""

from __future__ import annotations

from typing import Any

import pytest
from supervision_support import Harness

from supervisors import ChildSpec, ChildSpecError, DynamicSupervisor
from supervisors.testing import CrashWorker, wait_until_restarted


def _with_info() -> tuple[Any, dict[str, int]]:
    return CrashWorker.start(), {"port": 8080}


def test_start_child_returns_the_ref_and_the_info_and_which_children_shows_the_ref(harness: Harness) -> None:
    sup = harness.start([])
    ref, info = sup.start_child(ChildSpec("server", _with_info))
    assert info == {"port": 8080}
    assert ref.ask("ping") == "pong"
    assert sup.which_child("server").ref is ref
    assert sup.whereis("server") is ref


def test_a_static_child_with_info_restarts_like_any_other(harness: Harness) -> None:
    sup = harness.start([ChildSpec("server", _with_info)])
    first = sup.whereis("server")
    CrashWorker.crash(first)
    second = wait_until_restarted(sup, "server", previous=first)
    assert second.ask("ping") == "pong"


def test_a_bare_ref_comes_back_alone(harness: Harness) -> None:
    sup = harness.start([])
    ref = sup.start_child(ChildSpec("plain", CrashWorker.start))
    assert ref.ask("ping") == "pong"


def test_extra_arguments_are_prepended_to_every_start_call_and_to_restarts() -> None:
    calls: list[tuple[Any, ...]] = []

    def start(*args: Any) -> Any:
        calls.append(args)
        return CrashWorker.start(name=f"{args[0]}:{args[1]}")

    sup = DynamicSupervisor.start(extra_arguments=("pool", 7))
    try:
        first = sup.start_child(ChildSpec("worker", start))
        sup.start_child(ChildSpec("other", lambda *args: start(*args, "own")))
        CrashWorker.crash(first)
        wait_until_restarted(sup, "worker", previous=first)
        assert calls == [("pool", 7), ("pool", 7, "own"), ("pool", 7)]
    finally:
        sup.stop()


def test_extra_arguments_must_be_a_sequence() -> None:
    with pytest.raises(ChildSpecError) as caught:
        DynamicSupervisor.start(extra_arguments="abc")
    assert caught.value.code == "invalid_extra_arguments"
