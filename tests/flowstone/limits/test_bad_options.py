"""``fs.Rate`` values the store could not hold or wait for fail where they are written."""

from __future__ import annotations

import math

import pytest

import flowstone as fs


@pytest.mark.parametrize("per", [math.inf, -math.inf, math.nan])
def test_rate_per_must_be_finite(per: float) -> None:
    with pytest.raises(fs.DefinitionError, match=r"fs\.Rate: per"):
        fs.Rate(1, per)


def test_rate_key_is_at_most_200_characters_as_for_slots() -> None:
    fs.Rate(1, 1.0, key="k" * 200)
    with pytest.raises(fs.DefinitionError, match="at most 200"):
        fs.Rate(1, 1.0, key="k" * 201)
    with pytest.raises(fs.DefinitionError, match="at most 200"):
        fs.Slots("k" * 201, 1)
