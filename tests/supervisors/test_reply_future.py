"""``ReplyFuture``: the lock-based future of ``supervisors.Actor`` asks, pykka's contract."""

from __future__ import annotations

import queue
import threading

import pykka
import pytest

from supervisors import Actor
from supervisors._future import ReplyFuture


class Echo(Actor):
    def on_receive(self, message: object) -> object:
        if message == "fail":
            raise ValueError("asked to fail")
        return message


def test_a_value_is_read_any_number_of_times() -> None:
    future = ReplyFuture()
    future.set(42)
    assert [future.get(), future.get(timeout=0)] == [42, 42]


def test_get_times_out_with_pykkas_timeout() -> None:
    with pytest.raises(pykka.Timeout):
        ReplyFuture().get(timeout=0.01)


def test_an_exception_is_raised_by_every_get() -> None:
    future = ReplyFuture()
    try:
        raise ValueError("inside")
    except ValueError:
        future.set_exception()
    for _ in range(2):
        with pytest.raises(ValueError, match="inside"):
            future.get()


def test_a_second_set_is_refused() -> None:
    future = ReplyFuture()
    future.set(1)
    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(queue.Full):
        future.set_exception((ValueError, ValueError("x"), None))
    assert future.get() == 1


def test_map_join_and_get_all_work_through_the_get_hook() -> None:
    first, second = ReplyFuture(), ReplyFuture()
    mapped = first.map(lambda value: value + 1)
    joined = first.join(second)
    first.set(1)
    second.set(2)
    assert mapped.get() == 2
    assert joined.get() == [1, 2]
    assert list(pykka.get_all([first, second])) == [1, 2]


def test_every_waiting_thread_is_woken_by_one_set() -> None:
    future = ReplyFuture()
    got: list[object] = []
    waiters = [threading.Thread(target=lambda: got.append(future.get(timeout=10))) for _ in range(4)]
    for waiter in waiters:
        waiter.start()
    future.set("done")
    for waiter in waiters:
        waiter.join(10)
    assert got == ["done"] * 4


def test_an_actors_ask_is_answered_through_it() -> None:
    ref = Echo.start()
    try:
        future = ref.ask("hello", block=False)
        assert isinstance(future, ReplyFuture)
        assert future.get(timeout=10) == "hello"
        with pytest.raises(ValueError, match="asked to fail"):
            ref.ask("fail", timeout=10)
    finally:
        ref.wait_for_exit(10)  # the failed ask crashed it (OTP's rule)


class Gated(Echo):
    """Its thread waits at a gate before running its loop."""

    gate = threading.Event()

    def _actor_loop(self) -> None:
        self.gate.wait(10)
        super()._actor_loop()


class GatedWithStart(Gated):
    def on_start(self) -> None:
        pass


def test_an_actor_without_on_start_is_started_before_its_loop_runs() -> None:
    Gated.gate.clear()
    plain, with_start = Gated.start(), GatedWithStart.start()
    try:
        assert plain._lifecycle.start_settled  # no hand-off from its thread is waited for
        assert not with_start._lifecycle.start_settled  # on_start has not run yet
    finally:
        Gated.gate.set()
    for ref in (plain, with_start):
        assert ref.ask("ping", timeout=10) == "ping"
        ref.stop()
        assert ref.wait_for_exit(10)
