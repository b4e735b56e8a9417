"""``ctx.limit(fs.Rate(limit, per, key))``: at most ``limit`` starts per ``per`` seconds
for a key, shared by every asset of a node (the in-process limiter)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowstone as fs
from flowstone._limits import RateWindows, Reserve


@given(
    limit=st.integers(1, 5),
    per=st.floats(0.1, 5.0),
    gaps=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=40),
)
def test_no_window_of_per_seconds_holds_more_than_limit_grants(
    limit: int, per: float, gaps: list[float]
) -> None:
    windows = RateWindows()
    now, grants = 0.0, []
    for gap in gaps:
        now += gap
        at = windows.reserve(Reserve("k", limit, per), now)
        assert at >= now  # never granted in the past
        grants.append(at)
    assert grants == sorted(grants)
    for i, start in enumerate(grants):
        inside = [g for g in grants[i:] if g < start + per - 1e-9]
        assert len(inside) <= limit


def test_under_the_limit_a_start_is_granted_at_once() -> None:
    windows = RateWindows()
    assert [windows.reserve(Reserve("k", 3, 1.0), 10.0) for _ in range(3)] == [10.0, 10.0, 10.0]
    assert windows.reserve(Reserve("k", 3, 1.0), 10.0) == 11.0  # the fourth waits a window
    assert windows.reserve(Reserve("other", 3, 1.0), 10.0) == 10.0  # keys are independent


def test_ctx_limit_makes_the_start_over_the_limit_wait_for_the_window() -> None:
    p = fs.Pipeline("limit_wait")

    @p.asset
    def calls(ctx: Any) -> list[float]:
        starts = []
        for _ in range(3):
            with ctx.limit(fs.Rate(2, per=0.3, key="api")):
                starts.append(time.monotonic())
        return starts

    with fs.start() as node:
        starts = node.run(p, "calls")
    assert starts[2] - starts[0] >= 0.25  # the third start waited for the first to leave the window


def test_rate_key_must_be_a_non_empty_string() -> None:
    with pytest.raises(fs.DefinitionError, match="key"):
        fs.Rate(2, per=1.0, key="")
    assert fs.Rate(2, per=1.0, key="api").limit == 2
