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
        else:  # work: the actor busy for 2.5 ms
            time.sleep(0.0025)
            self.others += 1
        return None


def test_an_idle_actor_ticks_with_no_thread_of_its_own() -> None:
    before = set(threading.enumerate())
    ref = Ticking.start(0.01)
    try:
        wait_for(lambda: ref.ask("count") >= 5, timeout=5)
        started = [t.name for t in set(threading.enumerate()) - before]
        assert len(started) == 1, started  # the actor's own thread: no timer thread
        assert started[0].startswith("Ticking")
    finally:
        ref.stop()


def test_a_stream_of_messages_does_not_put_the_ticks_off() -> None:
    ref = Ticking.start(0.05)
    try:
        for _ in range(200):  # queued at once: its inbox is never empty for 0.5 s
            ref.tell("work")  # each takes 2.5 ms of the actor's time
        # About 10 ticks fall due meanwhile: each is handled once a message ends past it.
        # Left to a timeout, none would run until the queue is empty.
        assert ref.ask("count") >= 5
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
