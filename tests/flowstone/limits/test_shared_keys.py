"""Assets of one pipeline that name one ``fs.Slots`` or ``fs.Rate`` key must give it one
bound: a ``DefinitionError`` naming both assets and the key when the pipeline is validated."""

from __future__ import annotations

import pytest

import flowstone as fs


def test_one_slots_key_with_two_bounds_is_a_definition_error() -> None:
    p = fs.Pipeline("slots_conflict")

    @p.asset(concurrency=fs.Slots("warehouse", 1))
    def first(ctx: fs.Context) -> int:
        return 1

    @p.asset(concurrency=fs.Slots("warehouse", 4))
    def second(ctx: fs.Context) -> int:
        return 2

    with pytest.raises(fs.DefinitionError, match=r"'first' and 'second' name the fs\.Slots key 'warehouse'"):
        p.validate()


def test_one_rate_key_with_two_limits_is_a_definition_error() -> None:
    p = fs.Pipeline("rate_conflict")

    @p.asset(rate=fs.Rate(10, per=1.0, key="crm"))
    def first(ctx: fs.Context) -> int:
        return 1

    @p.asset(rate=fs.Rate(5, per=1.0, key="crm"))
    def second(ctx: fs.Context) -> int:
        return 2

    with fs.start() as node, pytest.raises(fs.DefinitionError, match=r"fs\.Rate key 'crm'"):
        node.run(p, "first")


def test_assets_sharing_a_key_with_one_bound_are_fine() -> None:
    p = fs.Pipeline("shared_ok")

    @p.asset(rate=fs.Rate(10, per=1, key="crm"), concurrency=fs.Slots("warehouse", 2))
    def first(ctx: fs.Context) -> int:
        return 1

    @p.asset(rate=fs.Rate(10, per=1.0, key="crm"), concurrency=fs.Slots("warehouse", 2))
    def second(ctx: fs.Context, first: int) -> int:
        return first + 1

    with fs.start() as node:
        assert node.run(p, "second") == 2
