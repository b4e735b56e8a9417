"""Batches (``fs.Batch``): greedy by items and bytes, an oversize item alone, grouped first."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import flowstone as fs
from flowstone._scatter.batching import batches


def weight(item: tuple[str, int]) -> int:
    return item[1]


items_strategy = st.lists(
    st.tuples(st.sampled_from("abc"), st.integers(min_value=1, max_value=50)), max_size=60
)


def flatten(groups: list[list[Any]]) -> list[Any]:
    return [item for group in groups for item in group]


def test_batches_of_max_items_in_order() -> None:
    assert list(batches(range(7), fs.Batch(max_items=3), len)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_greedy_by_bytes_with_an_oversize_item_alone() -> None:
    items = [("a", 4), ("b", 4), ("c", 4), ("d", 20), ("e", 1)]
    got = list(batches(items, fs.Batch(max_items=10, max_bytes=10), weight))
    assert got == [[("a", 4), ("b", 4)], [("d", 20)], [("c", 4), ("e", 1)]]


def test_group_by_keeps_each_group_to_its_own_batches() -> None:
    items = [("eu", 1), ("us", 1), ("eu", 2), ("eu", 3), ("us", 2)]
    got = list(batches(items, fs.Batch(max_items=2, group_by=lambda i: i[0]), weight))
    # A group's batch goes as soon as it is full; the partial ones at the end.
    assert got == [[("eu", 1), ("eu", 2)], [("us", 1), ("us", 2)], [("eu", 3)]]


def test_max_items_per_group_caps_a_groups_batch() -> None:
    items = [("eu", n) for n in range(5)]
    got = list(batches(items, fs.Batch(max_items=10, group_by=lambda i: i[0], max_items_per_group=2), weight))
    assert [len(b) for b in got] == [2, 2, 1]


@settings(max_examples=200, deadline=None)
@given(
    items=items_strategy,
    max_items=st.integers(min_value=1, max_value=8),
    max_bytes=st.one_of(st.none(), st.integers(min_value=1, max_value=80)),
    grouped=st.booleans(),
)
def test_batching_keeps_every_item_once_within_the_limits(
    items: list[tuple[str, int]], max_items: int, max_bytes: int | None, grouped: bool
) -> None:
    group_by: Callable[[Any], Any] | None = (lambda i: i[0]) if grouped else None
    options = fs.Batch(max_items=max_items, max_bytes=max_bytes, group_by=group_by)
    got = list(batches(items, options, weight))
    assert sorted(flatten(got)) == sorted(items)
    for batch in got:
        assert 1 <= len(batch) <= max_items
        if max_bytes is not None and len(batch) > 1:
            assert sum(weight(i) for i in batch) <= max_bytes
        if grouped:
            assert len({i[0] for i in batch}) == 1


@settings(max_examples=200, deadline=None)
@given(items=items_strategy, max_items=st.integers(min_value=1, max_value=8))
def test_without_groups_order_is_kept_and_batches_are_full_but_the_last(
    items: list[tuple[str, int]], max_items: int
) -> None:
    got = list(batches(items, fs.Batch(max_items=max_items), weight))
    assert flatten(got) == items
    assert all(len(b) == max_items for b in got[:-1])


@settings(max_examples=200, deadline=None)
@given(items=items_strategy, max_bytes=st.integers(min_value=1, max_value=80))
def test_greedy_bytes_close_a_batch_only_when_the_next_item_would_not_fit(
    items: list[tuple[str, int]], max_bytes: int
) -> None:
    got = list(batches(items, fs.Batch(max_items=1000, max_bytes=max_bytes), weight))
    normal = [b for b in got if not (len(b) == 1 and weight(b[0]) > max_bytes)]
    order = [i for i in items if weight(i) <= max_bytes]
    assert flatten(normal) == order
    for current, following in itertools.pairwise(normal):
        assert sum(map(weight, current)) + weight(following[0]) > max_bytes
