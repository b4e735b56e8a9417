"""``rate=`` and ``concurrency=`` on one node: in memory (in-process), and on SQLite
through the store's limiter; a waiting asset holds no runner."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import flowstone as fs
from flowstone._admission.gate import RATE_PAD
from flowstone._store.memory_limits import MemoryLimits
from tests.flowstone.limits.windows import most_in_a_window


@pytest.fixture(params=["memory", "sqlite"])
def start_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    return {"database_url": request.getfixturevalue("sqlite_url")}


def test_starts_under_a_rate_never_crowd_a_window(start_options: dict[str, Any]) -> None:
    import time

    p = fs.Pipeline("rate_in_process")
    starts: list[float] = []

    attempts: set[int] = set()

    @p.asset(rate=fs.Rate(4, per=0.4, key="crm"))
    def call(ctx: Any) -> None:
        starts.append(time.monotonic())
        attempts.add(ctx.attempt)

    with fs.start(max_concurrency=4, **start_options) as node:
        report = node.backfill(p, "call", [str(i) for i in range(10)], parallel=4)
    assert report.succeeded == 10  # none failed for its rate: they waited
    assert len(starts) == 10
    assert most_in_a_window(starts, 0.4) <= 4
    assert max(starts) - min(starts) >= 9 * 0.1  # spaced per / limit apart
    assert attempts == {1}  # waiting is not a retry


def test_no_more_than_n_hold_a_key_at_once(start_options: dict[str, Any]) -> None:
    p = fs.Pipeline("slots_in_process")
    lock = threading.Lock()
    running, most = [0], [0]

    def held() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.05)
        with lock:
            running[0] -= 1

    @p.asset(concurrency=fs.Slots("warehouse", 2))
    def first(ctx: Any) -> None:
        held()

    @p.asset(concurrency=fs.Slots("warehouse", 2))
    def second(ctx: Any) -> None:
        held()

    with fs.start(max_concurrency=4, **start_options) as node:
        a = node.backfill(p, "first", [str(i) for i in range(6)], parallel=4)
        assert a.succeeded == 6
        threads = [
            threading.Thread(target=node.backfill, args=(p, name, ["x", "y", "z"]))
            for name in ("first", "second")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert most[0] == 2


def test_a_task_waiting_for_a_slot_holds_no_runner() -> None:
    """One runner: the asset holding the slot waits for a second asset that needs that
    runner; if the waiter held it, the run would never finish."""
    p = fs.Pipeline("slot_no_runner")
    release = threading.Event()
    holding = threading.Event()

    @p.asset(concurrency=fs.Slots("k", 1))
    def holder(ctx: Any) -> str:
        holding.set()
        release.wait(30)
        return "held"

    @p.asset(concurrency=fs.Slots("k", 1))
    def waiter(ctx: Any) -> str:
        return "waited"

    @p.asset
    def free(ctx: Any) -> str:
        release.set()
        return "free"

    with fs.start(max_concurrency=2) as node:
        result: list[Any] = []
        thread = threading.Thread(target=lambda: result.append(node.run(p, "holder")))
        thread.start()
        assert holding.wait(10)
        waiting = threading.Thread(target=lambda: result.append(node.run(p, "waiter")))
        waiting.start()
        assert node.run(p, "free") == "free"  # the second runner is not held by the waiter
        thread.join(30)
        waiting.join(30)
    assert sorted(result) == ["held", "waited"]


def test_memory_limits_space_reservations_and_lease_slots() -> None:
    limits = MemoryLimits()
    assert [limits.reserve_start("k", 0.1, 10.0) for _ in range(3)] == pytest.approx([10.0, 10.1, 10.2])
    assert limits.reserve_start("other", 0.1, 10.0) == 10.0
    assert limits.take_slot("s", 1, "a", "n1", 0.0, 5.0) == 0.0
    assert limits.take_slot("s", 1, "b", "n2", 1.0, 6.0) == pytest.approx(4.0)  # until a's lease ends
    assert limits.renew_slots("n1", 9.0) == 1
    assert limits.take_slot("s", 1, "b", "n2", 6.0, 11.0) == pytest.approx(3.0)
    assert limits.take_slot("s", 1, "b", "n2", 9.5, 14.0) == 0.0  # a's lease ran out: freed
    limits.release_slot("s", "b")
    assert limits.take_slot("s", 1, "c", "n3", 9.6, 14.0) == 0.0
    assert 0 < RATE_PAD < 0.05  # the achieved rate stays within 5% of the limit


def test_sql_limits_are_conditional(sqlite_url: str) -> None:
    with fs.start(database_url=sqlite_url) as node:
        limits = node._store.limits  # type: ignore[attr-defined]
        assert limits.shared
        assert [limits.reserve_start("k", 0.5, 100.0) for _ in range(3)] == pytest.approx(
            [100.0, 100.5, 101.0]
        )
        assert limits.reserve_start("k", 0.5, 200.0) == pytest.approx(200.0)  # idle: no burst saved up
        assert limits.take_slot("s", 2, "a", "n1", 0.0, 5.0) == 0.0
        assert limits.take_slot("s", 2, "b", "n1", 0.0, 7.0) == 0.0
        assert limits.take_slot("s", 2, "c", "n2", 1.0, 8.0) == pytest.approx(4.0)
        assert limits.renew_slots("n1", 10.0) == 2
        assert limits.take_slot("s", 2, "c", "n2", 6.0, 12.0) == pytest.approx(4.0)
        limits.release_slot("s", "a")
        assert limits.take_slot("s", 2, "c", "n2", 6.0, 12.0) == 0.0


def test_ctx_limit_on_a_database_node_uses_the_stores_limiter(sqlite_url: str) -> None:
    import time

    p = fs.Pipeline("ctx_limit_sql")

    @p.asset
    def calls(ctx: Any) -> list[float]:
        starts = []
        for _ in range(3):
            with ctx.limit(fs.Rate(2, per=0.2, key="api")):
                starts.append(time.monotonic())
        return starts

    with fs.start(database_url=sqlite_url) as node:
        starts = node.run(p, "calls")
        limits = node._store.limits  # type: ignore[attr-defined]
        # The next free start of "api" is in the store: another process would wait for it.
        assert limits.reserve_start("rate:api", 0.1, 0.0) > 0.0  # 0.0 for a key never used
    assert starts[2] - starts[0] >= 0.2  # spaced per / limit apart
