"""``Periodic``: an actor's periodic message without a timer thread, never put off by a
stream of other messages."""

from __future__ import annotations

import threading
import time
from typing import Any

from flowstone._periodic import Periodic
from supervisors import Actor
from supervisors.testing import wait_for


class Ticking(Actor):
    def __init__(self, interval: float) -> None:
        super().__init__()
        self.ticks = 0
        self.others = 0
        self._periodic = Periodic(self, "tick", interval, self._handle)

    def on_start(self) -> None:
        self._periodic.schedule()
        self._periodic.wait()

    def on_receive(self, message: Any) -> Any:
        try:
            return self._handle(message)
        finally:
            self._periodic.wait()

    def on_timeout(self) -> None:
        self.on_receive("tick")

    def _handle(self, message: Any) -> Any:
        if message == "tick":
            self.ticks += 1
            self._periodic.schedule()
        elif message == "stop ticking":
            self._periodic.cancel()
        elif message == "count":
            return self.ticks
        else:
            self.others += 1
        return None


def test_an_idle_actor_ticks_with_no_thread_of_its_own() -> None:
    before = threading.active_count()
    ref = Ticking.start(0.01)
    try:
        assert threading.active_count() == before + 1  # the actor's thread alone
        wait_for(lambda: ref.ask("count") >= 5, timeout=5)
    finally:
        ref.stop()


def test_a_stream_of_messages_does_not_put_the_ticks_off() -> None:
    ref = Ticking.start(0.05)
    try:
        until = time.monotonic() + 0.5
        while time.monotonic() < until:  # no gap anywhere near 50 ms: no timeout ever fires
            ref.tell("work")
        assert ref.ask("count") >= 5  # about 10 were due; each ran when a message came past it
    finally:
        ref.stop()


def test_cancel_stops_the_ticks() -> None:
    ref = Ticking.start(0.01)
    try:
        wait_for(lambda: ref.ask("count") >= 1, timeout=5)
        ref.tell("stop ticking")
        stopped = ref.ask("count")
        assert not threading.Event().wait(0.1)  # bounded: ticks would be due ten times meanwhile
        assert ref.ask("count") == stopped
    finally:
        ref.stop()
