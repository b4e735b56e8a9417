"""Links, ported from OTP's link semantics: abnormal exits propagate, normal ones do not,
a trapping actor receives an ``Exit`` message instead, and an unlink before the exit
keeps the partner alive."""

from __future__ import annotations

import queue
from typing import Any

import pytest
from supervision_support import Harness

import supervisors
from supervisors import Actor, ChildSpec, Crashed, Exit, Linked, Normal, Shutdown
from supervisors.testing import CrashWorker, wait_until_restarted

TIMEOUT = 5.0


class Trapper(Actor):
    trap_exits = True

    def __init__(self, inbox: queue.SimpleQueue[Any]) -> None:
        super().__init__()
        self.received = inbox

    def on_receive(self, message: Any) -> Any:
        self.received.put(message)
        return None


@pytest.fixture
def pair() -> Any:
    a, b = CrashWorker.start(name="a"), CrashWorker.start(name="b")
    yield a, b
    for ref in (a, b):
        ref.stop()


def test_an_abnormal_exit_ends_the_partner_with_reason_linked(pair: Any) -> None:
    a, b = pair
    supervisors.link(a, b)
    error = RuntimeError("boom")
    CrashWorker.crash(a, error)
    assert b.wait_for_exit(TIMEOUT)
    assert b.exit_reason == ("linked", Crashed(error))
    assert isinstance(b.exit_reason, Linked)
    assert b.exit_reason.is_crash


def test_a_link_works_both_ways(pair: Any) -> None:
    a, b = pair
    supervisors.link(a, b)
    CrashWorker.crash(b)
    assert a.wait_for_exit(TIMEOUT)
    kind, reason = a.exit_reason
    assert kind == "linked"
    assert isinstance(reason, Crashed)


def test_a_normal_exit_does_not_propagate(pair: Any) -> None:
    a, b = pair
    supervisors.link(a, b)
    a.stop()
    assert a.exit_reason == Normal()
    assert b.ask("ping", timeout=TIMEOUT) == "pong"
    assert supervisors.unlink(a, b) is False  # the exit removed the link


def test_a_shutdown_propagates_as_any_reason_but_normal_does(pair: Any) -> None:
    a, b = pair
    supervisors.link(a, b)
    CrashWorker.finish_with(a, "done")
    assert b.wait_for_exit(TIMEOUT)
    assert b.exit_reason == ("linked", Shutdown("done"))


def test_a_trapping_actor_receives_exit_and_lives_on() -> None:
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    trapper = Trapper.start(inbox)
    partner = CrashWorker.start()
    try:
        supervisors.link(trapper, partner)
        error = ValueError("partner died")
        CrashWorker.crash(partner, error)
        message = inbox.get(timeout=TIMEOUT)
        assert message == Exit(partner, Crashed(error))
        assert trapper.is_alive()
    finally:
        trapper.stop()


def test_unlink_before_the_exit_keeps_the_partner_alive(pair: Any) -> None:
    a, b = pair
    supervisors.link(a, b)
    assert supervisors.unlink(a, b) is True
    CrashWorker.crash(a)
    assert a.wait_for_exit(TIMEOUT)
    assert b.ask("ping", timeout=TIMEOUT) == "pong"


def test_exits_propagate_along_a_chain_of_links() -> None:
    a, b, c = (CrashWorker.start() for _ in range(3))
    supervisors.link(a, b)
    supervisors.link(b, c)
    error = RuntimeError("first")
    CrashWorker.crash(a, error)
    assert c.wait_for_exit(TIMEOUT)
    assert c.exit_reason == ("linked", Linked(Crashed(error)))


def test_linking_to_an_actor_that_already_crashed_ends_the_partner_at_once(pair: Any) -> None:
    a, b = pair
    CrashWorker.crash(a)
    assert a.wait_for_exit(TIMEOUT)
    supervisors.link(b, a)
    assert b.wait_for_exit(TIMEOUT)
    assert isinstance(b.exit_reason, Linked)


def test_a_supervised_child_ended_by_a_link_is_restarted(harness: Harness) -> None:
    sup = harness.start([ChildSpec("child", CrashWorker.start, restart="transient")])
    child = sup.whereis("child")
    outsider = CrashWorker.start()
    supervisors.link(child, outsider)
    CrashWorker.crash(outsider)
    restarted = wait_until_restarted(sup, "child", previous=child)
    assert isinstance(sup.which_child("child").last_exit, Linked)
    assert restarted.ask("ping") == "pong"
