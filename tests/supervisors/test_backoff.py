"""``supervisors.backoff_delay``: the one backoff schedule of supervisors, retries and reconnects."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowstone as fs
import supervisors
from flowstone._reconnect import RECONNECT
from supervisors import Backoff, backoff_delay

attempts = st.integers(min_value=1, max_value=10**30)
seconds = st.floats(min_value=0.0, max_value=1e300, allow_nan=False, allow_infinity=False)
jitters = st.floats(min_value=0.0, max_value=0.99)


@given(attempts, seconds, seconds, st.sampled_from(["exponential", "linear", "constant"]))
def test_without_jitter_the_delay_never_exceeds_the_cap(n: int, a: float, b: float, growth: str) -> None:
    base, cap = min(a, b), max(a, b)
    delay = backoff_delay(n, base=base, cap=cap, growth=growth)  # type: ignore[arg-type]
    assert 0.0 <= delay <= cap


@given(st.integers(min_value=1, max_value=2000), seconds, seconds, st.floats(min_value=1.0, max_value=10.0))
def test_an_exponential_schedule_never_shrinks(n: int, a: float, b: float, factor: float) -> None:
    base, cap = min(a, b), max(a, b)
    assert backoff_delay(n, base=base, cap=cap, factor=factor) <= backoff_delay(
        n + 1, base=base, cap=cap, factor=factor
    )


@given(attempts, seconds, seconds, jitters, st.integers())
def test_jitter_spreads_the_capped_delay_by_at_most_its_fraction_unclamped(
    n: int, a: float, b: float, jitter: float, seed: int
) -> None:
    base, cap = min(a, b), max(a, b)
    capped = backoff_delay(n, base=base, cap=cap)
    delay = backoff_delay(n, base=base, cap=cap, jitter=jitter, rng=random.Random(seed))
    assert capped * (1 - jitter) * (1 - 1e-12) <= delay <= capped * (1 + jitter) * (1 + 1e-12)


def test_the_first_delays_double_from_the_base() -> None:
    assert [backoff_delay(n, base=0.5, cap=3.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [backoff_delay(n, base=0.5, cap=3.0, growth="linear") for n in (1, 2, 7)] == [0.5, 1.0, 3.0]
    assert backoff_delay(9, base=0.5, cap=3.0, growth="constant") == 0.5
    assert backoff_delay(3, base=1.0, cap=100.0, factor=3.0) == 9.0


def test_jitter_without_an_rng_leaves_the_shared_random_state_alone() -> None:
    random.seed(1234)
    state = random.getstate()
    for n in range(1, 50):
        backoff_delay(n, base=1.0, cap=10.0, jitter=0.5)
    assert random.getstate() == state


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="attempt must be >= 1, got 0"):
        backoff_delay(0, base=1.0, cap=2.0)


@given(st.integers(min_value=1, max_value=500), st.integers(), jitters)
def test_supervisor_backoff_and_asset_retry_give_the_same_delays(n: int, seed: int, jitter: float) -> None:
    restart = Backoff(initial=0.25, max=40.0, factor=2.0, jitter=jitter)
    retry = fs.Retry(max_attempts=2, base_delay=0.25, max_delay=40.0, jitter=jitter)
    assert restart.delay(n, random.Random(seed)) == retry.delay(n, random.Random(seed))


def test_the_reconnect_loops_back_off_from_a_tenth_of_a_second_to_five_seconds() -> None:
    rng = random.Random(7)
    first = RECONNECT.delay(1, rng)
    assert 0.08 <= first <= 0.12
    assert all(4.0 <= RECONNECT.delay(n, rng) <= 6.0 for n in range(7, 200))
    assert isinstance(RECONNECT, supervisors.Backoff)
