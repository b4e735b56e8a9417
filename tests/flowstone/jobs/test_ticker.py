"""[issue 22] A producer's ticker: one thread that tells its timed messages, for its life."""

from __future__ import annotations

import queue
import time
from typing import Any

from pykka import ActorDeadError

from flowstone._jobs.ticker import Ticker
from supervisors.testing import wait_for


class Inbox:
    """Stands for an actor's ref: what the ticker tells lands in a queue."""

    def __init__(self, dead: bool = False) -> None:
        self.told: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.dead = dead

    def tell(self, message: Any) -> None:
        if self.dead:
            raise ActorDeadError("gone")
        self.told.put(message)


def test_an_armed_message_is_told_after_its_delay() -> None:
    inbox = Inbox()
    ticker = Ticker(inbox, time.monotonic, "test-ticker")
    try:
        armed = time.monotonic()
        ticker.arm("poll", 0.02)
        assert inbox.told.get(timeout=5) == "poll"
        assert time.monotonic() - armed >= 0.02
    finally:
        ticker.stop()


def test_a_disarmed_message_is_not_told_and_a_later_one_still_is() -> None:
    inbox = Inbox()
    ticker = Ticker(inbox, time.monotonic, "test-ticker")
    try:
        ticker.arm("linger", 0.2)
        ticker.disarm("linger")
        ticker.arm("poll", 0.3)  # due after the linger would have been
        assert inbox.told.get(timeout=5) == "poll"
        assert inbox.told.empty()
    finally:
        ticker.stop()


def test_arming_again_moves_the_due_time_earlier() -> None:
    inbox = Inbox()
    ticker = Ticker(inbox, time.monotonic, "test-ticker")
    try:
        ticker.arm("poll", 3600)
        ticker.arm("poll", 0.01)  # the thread waits for the hour unless woken for this
        assert inbox.told.get(timeout=5) == "poll"
    finally:
        ticker.stop()


def test_each_arming_tells_once() -> None:
    inbox = Inbox()
    ticker = Ticker(inbox, time.monotonic, "test-ticker")
    try:
        ticker.arm("linger", 0.0)
        assert inbox.told.get(timeout=5) == "linger"
        ticker.arm("poll", 0.03)  # the next message told is this one: "linger" was told once
        assert inbox.told.get(timeout=5) == "poll"
    finally:
        ticker.stop()


def test_stop_ends_and_joins_its_thread_and_tells_nothing_more() -> None:
    inbox = Inbox()
    ticker = Ticker(inbox, time.monotonic, "test-ticker")
    ticker.arm("poll", 3600)
    ticker.stop()
    assert not ticker._thread.is_alive()
    assert inbox.told.empty()


def test_a_dead_actor_ends_the_ticker_thread() -> None:
    ticker = Ticker(Inbox(dead=True), time.monotonic, "test-ticker")
    ticker.arm("poll", 0.0)
    wait_for(lambda: not ticker._thread.is_alive(), timeout=5, message="the ticker thread ended")
    ticker.stop()  # still safe: nothing to join
