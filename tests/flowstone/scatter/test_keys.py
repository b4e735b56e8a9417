"""Scatter keys are encoded, bounded by ``max_key_bytes`` and deduplicated, lazily."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

import flowstone as fs
from flowstone._scatter.keys import checked_keys, unique


def encoded_size(key: object) -> int:
    return len(fs.codec.encode(key))


def test_a_key_exactly_at_the_limit_passes() -> None:
    key = "x" * 100
    limit = encoded_size(key)
    [checked] = checked_keys([key], asset="sales", limit=limit)
    assert checked.encoded == fs.codec.encode(key)
    assert checked.position == 0


def test_a_key_one_byte_over_the_limit_names_asset_position_size_and_limit() -> None:
    key = {"region": "x" * 100}
    limit = encoded_size(key) - 1
    with pytest.raises(fs.ScatterKeyError) as caught:
        list(checked_keys(["a", "b", key], asset="sales", limit=limit, run_id="r1"))
    err = caught.value
    assert (err.asset, err.position, err.size, err.limit, err.run_id) == ("sales", 2, limit + 1, limit, "r1")
    assert "'sales'" in str(err)
    assert "position 2" in str(err)
    assert str(limit) in str(err)


def test_an_unencodable_key_raises_the_same_error_with_the_codecs_path() -> None:
    with pytest.raises(fs.ScatterKeyError) as caught:
        list(checked_keys([{"a": 1}, {"a": object()}], asset="sales", limit=4096))
    assert caught.value.position == 1
    assert caught.value.size is None
    assert caught.value.path is not None
    assert "a" in caught.value.path


def test_keys_in_a_list_are_all_checked_before_any_is_given() -> None:
    keys = ["ok", "ok2", "x" * 5000]
    produced = checked_keys(keys, asset="sales", limit=4096)
    with pytest.raises(fs.ScatterKeyError):
        next(produced)


def test_keys_from_a_generator_are_consumed_lazily() -> None:
    pulled: list[int] = []

    def generate() -> Iterator[int]:
        for n in itertools.count():
            pulled.append(n)
            yield n

    produced = checked_keys(generate(), asset="sales", limit=4096)
    first = list(itertools.islice(produced, 3))
    assert [k.value for k in first] == [0, 1, 2]
    assert len(pulled) == 3


def test_positions_continue_from_start() -> None:
    produced = checked_keys(iter(["a", "b"]), asset="sales", limit=4096, start=10)
    assert [k.position for k in produced] == [10, 11]


def test_duplicate_keys_by_encoding_are_kept_once_in_first_order() -> None:
    keys = [{"r": "eu"}, {"r": "us"}, {"r": "eu"}, ("t", 1), ("t", 1), 1, True]
    kept = list(unique(checked_keys(keys, asset="sales", limit=4096)))
    assert [k.value for k in kept] == [{"r": "eu"}, {"r": "us"}, ("t", 1), 1, True]
    assert [k.position for k in kept] == [0, 1, 3, 5, 6]


def test_tuples_and_lists_are_different_keys() -> None:
    kept = list(unique(checked_keys([(1, 2), [1, 2]], asset="sales", limit=4096)))
    assert len(kept) == 2
