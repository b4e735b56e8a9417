"""``fs.Rate(limit, per, key)`` and ``fs.Slots(key, n)``: validated when defined."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone as fs


def test_rate_takes_limit_positionally_or_by_name() -> None:
    assert fs.Rate(10, per=1.0) == fs.Rate(limit=10, per=1.0)
    rate = fs.Rate(10, per=2.0, key="crm")
    assert (rate.limit, rate.per, rate.key, rate.n) == (10, 2.0, "crm", 10)
    assert rate.interval == 0.2


@pytest.mark.parametrize(
    ("args", "named"),
    [((0,), "limit"), ((True,), "limit"), ((1.5,), "limit"), ((1, 0), "per"), ((1, -1.0), "per")],
)
def test_a_bad_rate_is_a_definition_error_naming_the_field(args: tuple[Any, ...], named: str) -> None:
    with pytest.raises(fs.DefinitionError, match=named):
        fs.Rate(*args)


def test_slots_are_a_frozen_key_and_count() -> None:
    slots = fs.Slots("warehouse", 4)
    assert (slots.key, slots.n) == ("warehouse", 4)
    with pytest.raises(AttributeError):
        slots.n = 5  # type: ignore[misc]


@pytest.mark.parametrize(("key", "n"), [("", 1), (3, 1), ("k" * 201, 1), ("k", 0), ("k", True), ("k", 2.0)])
def test_bad_slots_are_a_definition_error(key: Any, n: Any) -> None:
    with pytest.raises(fs.DefinitionError, match=r"fs\.Slots"):
        fs.Slots(key, n)


def test_asset_options_take_rate_and_concurrency() -> None:
    p = fs.Pipeline("limit_options")

    @p.asset(rate=fs.Rate(10, per=1.0, key="crm"), concurrency=fs.Slots("warehouse", 4))
    def customers(ctx: Any) -> int:
        return 1

    options = p.get("customers").options
    assert options.rate == fs.Rate(10, per=1.0, key="crm")
    assert options.concurrency == fs.Slots("warehouse", 4)


@pytest.mark.parametrize("options", [{"rate": 10}, {"concurrency": ("warehouse", 4)}])
def test_asset_options_refuse_other_types(options: dict[str, Any]) -> None:
    p = fs.Pipeline("limit_bad_options")
    with pytest.raises(fs.DefinitionError, match="flowstone"):

        @p.asset(**options)
        def customers(ctx: Any) -> int:
            return 1
