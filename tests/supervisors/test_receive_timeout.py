"""``Actor.receive_timeout``: gen_server's timeout. ``on_timeout`` runs when no message
arrives in time; a message that arrives first cancels it; None waits forever."""

from __future__ import annotations

import threading
from typing import Any

from supervisors import Actor, ChildSpec, Crashed, Shutdown, Supervisor
from supervisors.testing import wait_for


class Waiter(Actor):
    """Records its timeouts; ``("wait", s)`` sets a timeout, ``"ping"`` does not."""

    def __init__(self, fired: threading.Event | None = None, again: int = 0) -> None:
        super().__init__()
        self.timeouts: list[str] = []
        self.fired = fired or threading.Event()
        self._again = again  # how many more timeouts to set from on_timeout

    def on_receive(self, message: Any) -> Any:
        match message:
            case ("wait", seconds):
                self.receive_timeout = seconds
            case "count":
                return len(self.timeouts)
            case "ping":
                return "pong"
        return None

    def on_timeout(self) -> None:
        self.timeouts.append("timeout")
        if self._again > 0:
            self._again -= 1
            self.receive_timeout = 0.0
        else:
            self.fired.set()


class Crasher(Actor):
    def on_receive(self, message: Any) -> Any:
        self.receive_timeout = 0.0
        return None

    def on_timeout(self) -> None:
        raise RuntimeError("timed out")


class Finisher(Actor):
    def on_start(self) -> None:
        self.receive_timeout = 0.0

    def on_timeout(self) -> None:
        self.finish("done waiting")


def test_on_timeout_runs_once_when_no_message_arrives() -> None:
    fired = threading.Event()
    ref = Waiter.start(fired)
    try:
        ref.tell(("wait", 0.01))
        assert fired.wait(5)
        assert ref.ask("count") == 1  # not again: each timeout is for one wait
        assert ref.ask("count") == 1
    finally:
        ref.stop()


def test_a_message_that_arrives_first_cancels_the_timeout() -> None:
    fired = threading.Event()
    ref = Waiter.start(fired)
    try:
        # Both messages are queued before the actor waits: the ask arrives within the
        # timeout (it is already there), so no timeout runs, and none is set after it.
        ref.tell(("wait", 30.0))
        assert ref.ask("ping") == "pong"
        assert ref.ask("count") == 0
    finally:
        ref.stop()
    assert not fired.is_set()


def test_on_timeout_may_set_the_next_timeout() -> None:
    fired = threading.Event()
    ref = Waiter.start(fired, again=3)
    try:
        ref.tell(("wait", 0.0))
        assert fired.wait(5)
        assert ref.ask("count") == 4
    finally:
        ref.stop()


def test_without_a_timeout_an_idle_actor_only_waits() -> None:
    ref = Waiter.start()
    try:
        assert ref.ask("ping") == "pong"
        assert not ref.proxy().fired.get().wait(0.1)  # bounded: nothing is due
        assert ref.ask("count") == 0
    finally:
        ref.stop()


def test_an_exception_in_on_timeout_crashes_the_actor() -> None:
    ref = Crasher.start()
    ref.tell("go")
    assert ref.wait_for_exit(5)
    reason = ref.exit_reason
    assert isinstance(reason, Crashed)
    assert str(reason.exception) == "timed out"


def test_finish_in_on_timeout_ends_the_actor_with_its_info() -> None:
    ref = Finisher.start()
    assert ref.wait_for_exit(5)
    assert ref.exit_reason == Shutdown("done waiting")


def test_a_crash_in_on_timeout_is_restarted_by_its_supervisor() -> None:
    sup = Supervisor.start([ChildSpec("w", Crasher.start)], max_restarts=10)
    try:
        first = sup.which_child("w").ref
        first.tell("go")
        wait_for(lambda: sup.which_child("w").ref not in (None, first), timeout=5)
        assert sup.which_child("w").ref.is_alive()  # the new one has no timeout set
    finally:
        sup.stop()
