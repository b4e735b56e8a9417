"""Defects found at the edges of supervision (issue 17), each pinned by a specification."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from supervision_support import Harness

from supervisors import (
    Actor,
    ChildSpec,
    Crashed,
    SupervisorError,
    SupervisorTimeoutError,
    monitor,
)
from supervisors.testing import CrashWorker, wait_for


class _IgnoreAfterFirst:
    """Starts a CrashWorker the first time, then ignores (returns None)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return CrashWorker.start() if self.calls == 1 else None


def test_a_restart_that_ignores_leaves_the_child_undefined_and_restartable(harness: Harness) -> None:
    start = _IgnoreAfterFirst()
    sup = harness.start([ChildSpec("flaky", start)])
    CrashWorker.crash(sup.whereis("flaky"))
    wait_for(lambda: start.calls == 2, message="the automatic restart")
    info = wait_for(lambda: (i := sup.which_child("flaky")).status == "terminated" and i, message="undefined")
    assert info.ref is None
    assert sup.count_children()["active"] == 0
    assert sup.restart_child("flaky") is None  # the start still ignores: still undefined
    sup.delete_child("flaky")
    assert sup.which_children() == []


def test_specs_given_as_a_generator_are_all_started(harness: Harness) -> None:
    specs = (CrashWorker.spec(name) for name in ("a", "b"))
    sup = harness.start(specs)  # type: ignore[arg-type]
    assert [c.id for c in sup.which_children()] == ["a", "b"]
    assert sup.count_children()["active"] == 2


def test_a_base_exception_in_a_monitor_callback_neither_skips_others_nor_hangs_stop() -> None:
    ref = CrashWorker.start()
    seen: list[str] = []

    def rude(_down: Any) -> None:
        seen.append("rude")
        raise KeyboardInterrupt

    monitor(ref, rude)
    monitor(ref, lambda _down: seen.append("polite"))
    assert ref.stop(timeout=5.0) is True
    assert seen == ["rude", "polite"]
    assert ref.wait_for_exit(5.0)


def _blocked_supervisor(harness: Harness, release: threading.Event) -> Any:
    """A supervisor that stays busy inside a child's on_start until ``release`` is set."""
    entered = threading.Event()

    class SlowStart(Actor):
        def on_start(self) -> None:
            entered.set()
            release.wait()

    inner = harness.start([CrashWorker.spec("w")], name="inner")
    outer = harness.start([ChildSpec("inner", lambda: inner, type="supervisor")], name="outer")
    starting = threading.Thread(target=lambda: inner.start_child(ChildSpec("slow", SlowStart.start)))
    starting.start()
    assert entered.wait(5.0)
    return outer, inner, starting


def test_tree_returns_what_it_can_read_and_marks_a_busy_subtree(harness: Harness) -> None:
    release = harness.gate()
    outer, _inner, starting = _blocked_supervisor(harness, release)
    try:
        node = outer.tree(timeout=0.2)
        assert node.id == "outer"
        assert not node.busy
        (sub,) = node.children
        assert sub.id == "inner"
        assert sub.busy
        assert sub.status == "busy"
        assert "busy" in sub.to_dict()
        assert sub.to_dict()["busy"] is True
    finally:
        release.set()
        starting.join(5.0)


@pytest.mark.parametrize("call", ["which_children", "count_children"])
def test_admin_calls_take_a_timeout_instead_of_hanging_behind_a_slow_start(
    harness: Harness, call: str
) -> None:
    release = harness.gate()
    _outer, inner, starting = _blocked_supervisor(harness, release)
    try:
        with pytest.raises(SupervisorTimeoutError) as caught:
            getattr(inner, call)(timeout=0.1)
        assert isinstance(caught.value, TimeoutError)
        assert isinstance(caught.value, SupervisorError)
        assert caught.value.code == "timeout"
    finally:
        release.set()
        starting.join(5.0)
    assert getattr(inner, call)(timeout=5.0)


class _Answers(Actor):
    def on_receive(self, message: Any) -> Any:
        raise ValueError(f"cannot answer {message!r}")


class _Tolerant(_Answers):
    crash_on_ask_error = False


def test_an_exception_in_an_ask_crashes_the_actor_by_default_as_in_otp() -> None:
    ref = _Answers.start()
    with pytest.raises(ValueError, match="cannot answer"):
        ref.ask("question")
    assert ref.wait_for_exit(5.0)
    assert isinstance(ref.exit_reason, Crashed)


def test_an_actor_may_opt_out_and_keep_running_after_an_ask_error() -> None:
    ref = _Tolerant.start()
    with pytest.raises(ValueError, match="cannot answer"):
        ref.ask("question")
    assert ref.is_alive()
    ref.stop()
