"""The scatter barrier: one contract on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from flowstone import codec
from flowstone._scatter.keys import digest
from flowstone._store import MemoryStore
from flowstone._store.barrier import NewUnit, ScatterBarrier
from flowstone._store.sql.store import SQLStore

RUN, ASSET = "run-1", "sales"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    return url


@pytest.fixture
def open_barrier(store_url: str | None) -> Iterator[Callable[[], ScatterBarrier]]:
    """``open_barrier()``: the barrier of a (new) store on the test's database."""
    stores: list[SQLStore] = []
    memory = MemoryStore()

    def make() -> ScatterBarrier:
        if store_url is None:
            return memory.barrier
        store = SQLStore(store_url)
        store.open()
        stores.append(store)
        return store.barrier

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def barrier(open_barrier: Callable[[], ScatterBarrier]) -> ScatterBarrier:
    return open_barrier()


def units(keys: list[Any], start: int = 0) -> list[NewUnit]:
    encoded = [codec.encode(k) for k in keys]
    return [NewUnit(start + i, digest(e), e) for i, e in enumerate(encoded)]


def started(barrier: ScatterBarrier, keys: list[Any], *, expanded: bool = True) -> None:
    barrier.begin("p", RUN, ASSET, "")
    barrier.add(RUN, ASSET, units(keys), cursor=None, next_position=len(keys), expanded=expanded)


def claim(
    barrier: ScatterBarrier, holder: str = "w1", limit: int = 100, now: float = 100.0, **kw: Any
) -> list[int]:
    return [
        u.position
        for u in barrier.claim(RUN, ASSET, holder=holder, limit=limit, lease_until=now + 30, now=now, **kw)
    ]


def test_begin_creates_an_open_head_once(barrier: ScatterBarrier) -> None:
    head = barrier.begin("p", RUN, ASSET, "2025-01-01")
    assert (head.state, head.next_position, head.cursor, head.expanded) == ("open", 0, None, False)
    barrier.add(RUN, ASSET, units(["a"]), cursor=b"c1", next_position=1, expanded=False)
    again = barrier.begin("p", RUN, ASSET, "2025-01-01")
    assert (again.cursor, again.next_position) == (b"c1", 1)
    assert barrier.head(RUN, "other") is None


def test_an_open_scatter_is_found_by_asset_and_partition(barrier: ScatterBarrier) -> None:
    barrier.begin("p", RUN, ASSET, "2025-01-01")
    found = barrier.find_open("p", ASSET, "2025-01-01")
    assert found is not None
    assert found.run_id == RUN
    assert barrier.find_open("p", ASSET, "2025-01-02") is None
    barrier.finish(RUN, ASSET, from_states=["open"], to="gathered")
    assert barrier.find_open("p", ASSET, "2025-01-01") is None


def test_duplicate_keys_are_written_once(barrier: ScatterBarrier) -> None:
    barrier.begin("p", RUN, ASSET, "")
    assert barrier.add(RUN, ASSET, units(["a", "b"]), cursor=None, next_position=2, expanded=False) == 2
    dup = [NewUnit(2, digest(codec.encode("a")), codec.encode("a")), *units(["c"], start=3)]
    assert barrier.add(RUN, ASSET, dup, cursor=None, next_position=4, expanded=True) == 1
    # A resumed scatter rewriting the page it had written changes nothing.
    assert barrier.add(RUN, ASSET, units(["a", "b"]), cursor=None, next_position=4, expanded=True) == 0
    progress = barrier.progress(RUN, ASSET)
    assert progress is not None
    assert progress.total == 3


def test_claims_in_key_order_and_never_twice(barrier: ScatterBarrier) -> None:
    started(barrier, list("abcde"))
    assert claim(barrier, "w1", limit=2) == [0, 1]
    assert claim(barrier, "w2", limit=2) == [2, 3]
    assert claim(barrier, "w1", limit=5) == [4]
    assert claim(barrier, "w2") == []


def test_max_running_is_kept_across_holders(barrier: ScatterBarrier) -> None:
    started(barrier, list(range(20)))
    assert len(claim(barrier, "w1", max_running=3)) == 3
    assert claim(barrier, "w2", max_running=3) == []
    assert barrier.complete(RUN, ASSET, 0, "w1", codec.encode(0), 101.0)
    assert claim(barrier, "w2", max_running=3) == [3]


def test_a_unit_whose_lease_ran_out_is_claimed_again(barrier: ScatterBarrier) -> None:
    started(barrier, ["a", "b"])
    assert claim(barrier, "dead", limit=1, now=100.0) == [0]
    assert claim(barrier, "w2", limit=5, now=200.0, max_running=5) == [0, 1]
    # The old holder lost it: its late completion changes nothing.
    assert not barrier.complete(RUN, ASSET, 0, "dead", codec.encode("late"), 201.0)
    assert barrier.complete(RUN, ASSET, 0, "w2", codec.encode("A"), 201.0)
    assert [p for p, _, _ in barrier.results(RUN, ASSET)] == [0]


def test_a_rate_spaces_the_starts(barrier: ScatterBarrier) -> None:
    started(barrier, list(range(10)))
    assert len(claim(barrier, now=100.0, interval=0.5)) == 1
    assert claim(barrier, now=100.2, interval=0.5) == []
    assert len(claim(barrier, now=101.0, interval=0.5)) == 1
    # Idle time is not saved up: one start at a time unless a burst is allowed.
    assert len(claim(barrier, now=102.0, interval=0.5)) == 1
    assert len(claim(barrier, now=102.4, interval=0.5, burst=3)) == 0
    assert len(claim(barrier, now=110.0, interval=0.5, burst=3)) == 3
    assert len(claim(barrier, now=110.0, interval=0.5, burst=3)) == 0


def test_completion_and_failure_are_conditional_and_counted(barrier: ScatterBarrier) -> None:
    started(barrier, list("abcd"))
    claim(barrier, "w1", limit=3)
    assert barrier.complete(RUN, ASSET, 1, "w1", codec.encode("B"), 101.0)
    assert not barrier.complete(RUN, ASSET, 1, "w1", codec.encode("B"), 101.0)
    assert barrier.fail(RUN, ASSET, 0, "w1", "ValueError: no", 101.0)
    assert not barrier.fail(RUN, ASSET, 3, "w1", "never claimed", 101.0)
    progress = barrier.progress(RUN, ASSET)
    assert progress is not None
    assert (progress.total, progress.done, progress.failed, progress.running) == (4, 1, 1, 1)
    assert [(p, codec.decode(k), e) for p, k, e in barrier.failures(RUN, ASSET)] == [
        (0, "a", "ValueError: no")
    ]


def test_released_units_go_back_unrun(barrier: ScatterBarrier) -> None:
    started(barrier, list("abc"))
    claim(barrier, "w1", limit=2)
    assert barrier.release(RUN, ASSET, "w1") == 2
    [first, *_] = barrier.claim(RUN, ASSET, holder="w2", limit=1, lease_until=200.0, now=100.0)
    assert (first.position, first.attempts) == (0, 1)


def test_results_stream_in_key_order_page_by_page(barrier: ScatterBarrier) -> None:
    keys = list(range(25))
    started(barrier, keys)
    claimed = claim(barrier, limit=25)
    for position in reversed(claimed):
        if position != 7:
            barrier.complete(RUN, ASSET, position, "w1", codec.encode(position * 10), 101.0)
    streamed = barrier.results(RUN, ASSET, page=4)
    assert not isinstance(streamed, list)
    got = [(p, codec.decode(k), codec.decode(r)) for p, k, r in streamed]
    assert got == [(k, k, k * 10) for k in keys if k != 7]


def test_finish_moves_the_head_once(barrier: ScatterBarrier) -> None:
    started(barrier, ["a"])
    assert barrier.finish(RUN, ASSET, from_states=["open"], to="gathering")
    assert not barrier.finish(RUN, ASSET, from_states=["open"], to="gathering")
    assert claim(barrier) == []  # an ended scatter dispatches nothing
    head = barrier.head(RUN, ASSET)
    assert head is not None
    assert head.state == "gathering"


def test_discard_leaves_nothing_behind(barrier: ScatterBarrier) -> None:
    started(barrier, list("abc"), expanded=False)
    assert barrier.discard(RUN, ASSET) == 3
    assert barrier.head(RUN, ASSET) is None
    assert barrier.progress(RUN, ASSET) is None
    assert list(barrier.results(RUN, ASSET)) == []


def test_what_is_committed_survives_a_new_store(
    open_barrier: Callable[[], ScatterBarrier], store_url: str | None
) -> None:
    if store_url is None:
        pytest.skip("a memory store is gone with its process")
    first = open_barrier()
    started(first, list("abc"))
    claim(first, "w1", limit=2)
    first.complete(RUN, ASSET, 0, "w1", codec.encode("A"), 101.0)
    second = open_barrier()
    assert claim(second, "w2", limit=5, now=500.0) == [1, 2]
    assert [codec.decode(r) for _, _, r in second.results(RUN, ASSET)] == ["A"]


class TestPostgresPlans:
    """A big scatter's claims and commits read only their own keys (PostgreSQL)."""

    def test_once_a_big_scatter_is_written_updates_by_position_use_the_primary_key(
        self, postgres_database: str
    ) -> None:
        store = SQLStore(postgres_database)
        store.open()
        engine = create_engine(postgres_database)
        try:
            started(store.barrier, list(range(5_000)))
            with engine.connect() as connection:
                plan = "\n".join(
                    row[0]
                    for row in connection.execute(
                        text(
                            "EXPLAIN UPDATE flowstone_scatter_units SET attempts = attempts "
                            "WHERE run_id = :run AND asset = :asset AND position IN (1, 2, 3)"
                        ),
                        {"run": RUN, "asset": ASSET},
                    )
                )
        finally:
            engine.dispose()
            store.close()
        # The state index would filter all 5,000 rows of the scatter for three of them.
        assert "pk_flowstone_scatter_units" in plan, plan
