"""The events of a restart: one ``child_restarted`` carrying the reason (issue 22).

A crash is reported at WARNING (visible at stdlib's default level, as OTP's error reports
are); an exit that is not a crash at INFO.

A restart used to log four events (``actor.crashed``, ``child_exited``, ``child_started``,
``child_restarted``). Now an exit followed at once by a restart is logged once, by
``child_restarted`` with the exit reason; an exit that is not followed at once by a
restart is logged by ``child_exited``; a supervised child's crash is a debug event of the
actor (its supervisor reports it), an unsupervised actor's crash an error.
"""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from supervisors import Actor, Backoff, ChildSpec, Supervisor
from supervisors.testing import CrashWorker, ManualClock, wait_for, wait_until_restarted

TIMEOUT = 10.0


class Plain(Actor):
    """An actor without ``on_start``: it is started without a hand-off from its thread."""

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("crash on demand")
        return message


def _supervisor_events(logs: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in logs if e["event"].startswith("supervisor.")]


@pytest.mark.parametrize("plain", [True, False], ids=["without_on_start", "with_on_start"])
def test_a_restart_logs_one_child_restarted_event_with_the_reason(plain: bool) -> None:
    start = Plain.start if plain else CrashWorker.start
    sup = Supervisor.start([ChildSpec("worker", start)], name="events")
    try:
        old = sup.whereis("worker")
        with capture_logs() as logs:
            if plain:
                old.tell("crash")
            else:
                CrashWorker.crash(old)
            new = wait_until_restarted(sup, "worker", previous=old)
        assert new.ask("ping") in ("ping", "pong")
    finally:
        sup.stop(timeout=TIMEOUT)
    assert _supervisor_events(logs) == ["supervisor.child_restarted"]
    (restarted,) = [e for e in logs if e["event"] == "supervisor.child_restarted"]
    assert restarted["reason"] == "crashed: RuntimeError: crash on demand"
    assert restarted["restarts"] == 1
    assert restarted["child"] == "worker"
    assert restarted["supervisor"] == "events"
    assert restarted["log_level"] == "warning"  # a crash: seen at stdlib's default level


def test_a_supervised_childs_crash_is_a_debug_event_of_the_actor() -> None:
    sup = Supervisor.start([ChildSpec("worker", Plain.start)], name="debug")
    try:
        old = sup.whereis("worker")
        with capture_logs() as logs:
            old.tell("crash")
            wait_until_restarted(sup, "worker", previous=old)
    finally:
        sup.stop(timeout=TIMEOUT)
    crashed = [e for e in logs if e["event"] == "actor.crashed"]
    assert [e["log_level"] for e in crashed] == ["debug"]
    assert crashed[0]["error"] == "RuntimeError: crash on demand"


def test_an_unsupervised_actors_crash_is_an_error_event() -> None:
    ref = Plain.start()
    with capture_logs() as logs:
        ref.tell("crash")
        assert ref.wait_for_exit(TIMEOUT)
    crashed = [e for e in logs if e["event"] == "actor.crashed"]
    assert [e["log_level"] for e in crashed] == ["error"]


def test_the_first_start_logs_child_started_at_debug() -> None:
    with capture_logs() as logs:
        sup = Supervisor.start([ChildSpec("worker", Plain.start)], name="first")
        sup.stop(timeout=TIMEOUT)
    started = logs[[e["event"] for e in logs].index("supervisor.child_started")]
    assert _supervisor_events(logs)[0] == "supervisor.child_started"
    assert started["log_level"] == "debug"  # as OTP's progress reports: hidden at INFO


def test_an_exit_that_is_not_restarted_logs_child_exited_with_the_reason() -> None:
    sup = Supervisor.start([ChildSpec("worker", Plain.start, restart="temporary")], name="temporary")
    try:
        old = sup.whereis("worker")
        with capture_logs() as logs:
            old.tell("crash")
            wait_for(lambda: sup.count_children()["specs"] == 0, TIMEOUT)
    finally:
        sup.stop(timeout=TIMEOUT)
    exited = [e for e in logs if e["event"] == "supervisor.child_exited"]
    assert [e["reason"] for e in exited] == ["crashed: RuntimeError: crash on demand"]
    assert [e["log_level"] for e in exited] == ["warning"]
    assert "supervisor.child_restarted" not in _supervisor_events(logs)


def test_a_delayed_restart_logs_the_exit_at_once_and_the_restart_when_it_happens() -> None:
    clock = ManualClock()
    backoff = Backoff(initial=1.0, jitter=0.0)
    sup = Supervisor.start([ChildSpec("worker", Plain.start, backoff=backoff)], name="delayed", clock=clock)
    try:
        old = sup.whereis("worker")
        with capture_logs() as logs:
            old.tell("crash")
            wait_for(lambda: clock.pending == 1, TIMEOUT)
            assert _supervisor_events(logs) == ["supervisor.child_exited"]
            clock.advance(1.0)
            wait_until_restarted(sup, "worker", previous=old)
    finally:
        sup.stop(timeout=TIMEOUT)
    assert _supervisor_events(logs) == ["supervisor.child_exited", "supervisor.child_restarted"]
    restarted = [e for e in logs if e["event"] == "supervisor.child_restarted"]
    assert restarted[0]["reason"] == "crashed: RuntimeError: crash on demand"


def test_the_exit_that_exhausts_the_intensity_is_logged_before_the_give_up() -> None:
    sup = Supervisor.start([ChildSpec("worker", Plain.start)], name="gives-up", max_restarts=0)
    old = sup.whereis("worker")
    with capture_logs() as logs:
        old.tell("crash")
        assert sup.wait_for_exit(TIMEOUT)
    events = _supervisor_events(logs)
    assert events[:2] == ["supervisor.child_exited", "supervisor.max_intensity"]
    assert "supervisor.child_restarted" not in events


def test_a_restart_whose_start_fails_logs_the_exit_and_the_start_error() -> None:
    attempts: list[int] = []

    def start() -> Any:
        attempts.append(1)
        if len(attempts) > 1:
            raise RuntimeError("no second start")
        return Plain.start()

    sup = Supervisor.start([ChildSpec("worker", start)], name="fails", max_restarts=1)
    old = sup.whereis("worker")
    with capture_logs() as logs:
        old.tell("crash")
        assert sup.wait_for_exit(TIMEOUT)
    events = _supervisor_events(logs)
    assert events[:2] == ["supervisor.child_exited", "supervisor.start_error"]


def test_a_normal_exit_of_a_transient_child_is_an_info_event() -> None:
    sup = Supervisor.start([ChildSpec("worker", Plain.start, restart="transient")], name="normal")
    try:
        old = sup.whereis("worker")
        with capture_logs() as logs:
            old.stop()
            wait_for(lambda: sup.which_child("worker").status == "terminated", TIMEOUT)
    finally:
        sup.stop(timeout=TIMEOUT)
    exited = [e for e in logs if e["event"] == "supervisor.child_exited"]
    assert [(e["reason"], e["log_level"]) for e in exited] == [("normal", "info")]
