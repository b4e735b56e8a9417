"""The store's slots as seat rows (``flowstone/_store/sql/limits.py``), on SQLite and
PostgreSQL: never more than ``n`` holders while threads race, never a seat at or above
``n`` after ``n`` shrinks, and a lease taken over after it expired stays the new holder's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

import flowstone as fs
from flowstone._store.sql.schema import limit_seats

S = limit_seats

KEY = "slots:wh"


@pytest.fixture
def limits_and_read(database_url: str) -> Iterator[tuple[Any, Any]]:
    """The store's limiter and its read engine (to look at the seats as they are)."""
    with fs.start(database_url=database_url) as node:
        store: Any = node._store
        yield store.limits, store.engines.read


def holders(read: Any, key: str = KEY) -> dict[int, str]:
    """Seat → holder of the seats of ``key`` held now (whatever their expiry)."""
    with read.connect() as c:
        rows = c.execute(select(S.c.seat, S.c.holder).where(S.c.key == key, S.c.holder.is_not(None))).all()
    return {int(seat): holder for seat, holder in rows}


def test_a_refused_take_answers_the_wait_until_the_earliest_lease_ends(limits_and_read: Any) -> None:
    limits, read = limits_and_read
    assert limits.take_slot(KEY, 2, "a", "n1", 0.0, 5.0) == 0.0
    assert limits.take_slot(KEY, 2, "b", "n1", 0.0, 7.0) == 0.0
    assert limits.take_slot(KEY, 2, "c", "n2", 1.0, 8.0) == pytest.approx(4.0)
    assert limits.renew_slots("n1", 10.0) == 2
    assert limits.take_slot(KEY, 2, "c", "n2", 6.0, 12.0) == pytest.approx(4.0)
    limits.release_slot(KEY, "a")
    assert limits.take_slot(KEY, 2, "c", "n2", 6.0, 12.0) == 0.0
    assert sorted(holders(read).values()) == ["b", "c"]


def test_an_expired_lease_taken_over_stays_the_new_holders(limits_and_read: Any) -> None:
    limits, read = limits_and_read
    assert limits.take_slot(KEY, 1, "old", "n1", 0.0, 5.0) == 0.0
    assert limits.take_slot(KEY, 1, "new", "n2", 6.0, 20.0) == 0.0  # old's lease ran out
    assert limits.renew_slots("n1", 30.0) == 0  # the old holder's heartbeat renews nothing
    limits.release_slot(KEY, "old")  # nor does its release free the seat it lost
    assert holders(read) == {0: "new"}
    assert limits.take_slot(KEY, 1, "third", "n3", 7.0, 20.0) == pytest.approx(13.0)


def test_a_seat_at_or_above_n_is_never_taken_after_n_shrinks(limits_and_read: Any) -> None:
    limits, read = limits_and_read
    for holder in "abcde":
        assert limits.take_slot(KEY, 5, holder, "n1", 0.0, 50.0) == 0.0
    assert holders(read) == {0: "a", 1: "b", 2: "c", 3: "d", 4: "e"}
    limits.release_slot(KEY, "a")
    # n is 3 now: b, c, d and e hold, so nobody else may (seat 0 is free and below n).
    assert limits.take_slot(KEY, 3, "x", "n2", 1.0, 50.0) > 0
    limits.release_slot(KEY, "d")
    assert limits.take_slot(KEY, 3, "x", "n2", 1.0, 50.0) > 0  # b, c and e: three
    limits.release_slot(KEY, "e")
    assert limits.take_slot(KEY, 3, "x", "n2", 1.0, 50.0) == 0.0  # b, c and x
    assert limits.take_slot(KEY, 3, "y", "n2", 1.0, 50.0) > 0
    limits.release_slot(KEY, "b")
    assert limits.take_slot(KEY, 3, "y", "n2", 1.0, 50.0) == 0.0
    assert holders(read) == {0: "x", 1: "y", 2: "c"}
    limits.release_slot(KEY, "c")
    assert limits.take_slot(KEY, 2, "z", "n2", 1.0, 50.0) > 0  # n = 2: x and y (seat 2, free, is not below n)
    # Nor when every lease has expired: the seats below n are the ones reused.
    assert limits.take_slot(KEY, 2, "g", "n2", 60.0, 90.0) == 0.0
    assert limits.take_slot(KEY, 2, "h", "n2", 60.0, 90.0) == 0.0
    assert limits.take_slot(KEY, 2, "i", "n2", 60.0, 90.0) > 0
    assert holders(read) == {0: "g", 1: "h"}


def test_more_seats_are_made_when_n_grows(limits_and_read: Any) -> None:
    limits, read = limits_and_read
    assert limits.take_slot(KEY, 1, "a", "n1", 0.0, 50.0) == 0.0
    assert limits.take_slot(KEY, 3, "b", "n1", 0.0, 50.0) == 0.0
    assert limits.take_slot(KEY, 3, "c", "n1", 0.0, 50.0) == 0.0
    assert limits.take_slot(KEY, 3, "d", "n1", 0.0, 50.0) > 0
    assert holders(read) == {0: "a", 1: "b", 2: "c"}


def test_threads_racing_for_seats_never_hold_more_than_n(limits_and_read: Any) -> None:
    """Eight threads (each with its own connection) take, check and release seats of a key
    with n = 3 as fast as they can. Counted between a take returning and its release being
    sent, a holder is inside its lease in the database, so the count can only miss an
    excess, never invent one; while holding, each checks its seat is still its own and
    that the database shows at most n live holders."""
    limits, read = limits_and_read
    n, threads, holds_each = 3, 8, 15
    lock = threading.Lock()
    holding, most, held, errors = [0], [0], [0], []
    stop = threading.Event()

    def race(index: int) -> None:
        done = tries = 0
        try:
            while done < holds_each and not stop.is_set():
                tries += 1
                holder, now = f"t{index}-{tries}", time.time()
                if limits.take_slot(KEY, n, holder, f"node{index}", now, now + 60) > 0:
                    continue  # refused (full, or a seat locked for an instant): try again
                with lock:
                    holding[0] += 1
                    most[0] = max(most[0], holding[0])
                with read.connect() as c:  # hold the seat for a round trip, and look
                    mine = c.execute(select(S.c.seat).where(S.c.key == KEY, S.c.holder == holder)).all()
                    live = c.execute(
                        select(func.count()).where(
                            S.c.key == KEY, S.c.holder.is_not(None), S.c.expires_at >= time.time()
                        )
                    ).scalar_one()
                assert len(mine) == 1, f"{holder} holds {mine}"
                assert live <= n, f"{live} live holders of {n} seats"
                with lock:
                    holding[0] -= 1
                    held[0] += 1
                limits.release_slot(KEY, holder)
                done += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            stop.set()

    workers = [threading.Thread(target=race, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not any(worker.is_alive() for worker in workers)
    assert not errors, errors[0]
    assert held[0] == threads * holds_each
    assert most[0] <= n
    assert holders(read) == {}  # every seat given back
    with read.connect() as c:
        assert c.execute(select(func.max(S.c.seat)).where(S.c.key == KEY)).scalar_one() == n - 1
