"""Retry policies: validation and the pure backoff schedule."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowstone._retry import Retry


class TestSchedule:
    def test_exponential_doubles_from_the_base_delay(self) -> None:
        policy = Retry(max_attempts=10, backoff="exponential", base_delay=1.0, max_delay=300.0)
        assert list(policy.delays()) == [1, 2, 4, 8, 16, 32, 64, 128, 256]

    def test_linear_grows_by_the_base_delay(self) -> None:
        policy = Retry(max_attempts=5, backoff="linear", base_delay=2.5)
        assert list(policy.delays()) == [2.5, 5.0, 7.5, 10.0]

    def test_constant_always_waits_the_base_delay(self) -> None:
        policy = Retry(max_attempts=4, backoff="constant", base_delay=3.0)
        assert list(policy.delays()) == [3.0, 3.0, 3.0]

    def test_exponential_is_capped_at_max_delay(self) -> None:
        policy = Retry(max_attempts=12, base_delay=1.0, max_delay=300.0)
        assert list(policy.delays())[-3:] == [256.0, 300.0, 300.0]

    def test_linear_is_capped_at_max_delay(self) -> None:
        policy = Retry(max_attempts=6, backoff="linear", base_delay=10.0, max_delay=25.0)
        assert list(policy.delays()) == [10.0, 20.0, 25.0, 25.0, 25.0]

    def test_zero_base_delay_retries_immediately(self) -> None:
        policy = Retry(max_attempts=4, base_delay=0.0, max_delay=0.0, jitter=0.5)
        assert list(policy.delays()) == [0.0, 0.0, 0.0]

    @pytest.mark.parametrize("attempts", [1, 2, 7, 50])
    def test_delays_yields_one_value_per_retry(self, attempts: int) -> None:
        assert len(list(Retry(max_attempts=attempts).delays())) == attempts - 1

    def test_none_never_retries(self) -> None:
        assert Retry.none() == Retry(max_attempts=1)
        assert list(Retry.none().delays()) == []

    @pytest.mark.parametrize("backoff", ["exponential", "linear", "constant"])
    @pytest.mark.parametrize("retry_number", [10_000, 10**100])
    def test_huge_retry_numbers_are_capped_without_overflow(self, backoff: Any, retry_number: int) -> None:
        policy = Retry(backoff=backoff, base_delay=2.0, max_delay=300.0)
        assert policy.delay(retry_number) == (2.0 if backoff == "constant" else 300.0)

    def test_extreme_floats_do_not_overflow(self) -> None:
        tiny_to_huge = Retry(base_delay=5e-324, max_delay=1.7e308)
        assert tiny_to_huge.delay(1100) == math.ldexp(5e-324, 1099)
        assert tiny_to_huge.delay(5000) == 1.7e308
        linear = Retry(backoff="linear", base_delay=1e-300, max_delay=1e300)
        assert linear.delay(10**400) == pytest.approx(1e100)
        assert linear.delay(10**700) == 1e300

    @pytest.mark.parametrize("retry_number", [0, -1])
    def test_retry_numbers_start_at_one(self, retry_number: int) -> None:
        with pytest.raises(ValueError, match="retry_number must be >= 1"):
            Retry(max_attempts=3).delay(retry_number)


class TestJitter:
    def test_seeded_rng_makes_jittered_delays_repeatable(self) -> None:
        policy = Retry(max_attempts=10, base_delay=1.0, max_delay=300.0, jitter=0.1)
        first = list(policy.delays(random.Random(42)))
        second = list(policy.delays(random.Random(42)))
        assert first == second
        assert first != [1, 2, 4, 8, 16, 32, 64, 128, 256]

    def test_without_rng_jitter_still_stays_in_bounds(self) -> None:
        policy = Retry(max_attempts=10, base_delay=1.0, max_delay=300.0, jitter=0.1)
        for n, value in enumerate(policy.delays(), start=1):
            nominal = min(2.0 ** (n - 1), 300.0)
            assert nominal * 0.9 <= value <= nominal * 1.1

    def test_zero_jitter_does_not_touch_the_rng(self) -> None:
        rng = random.Random(1)
        state = rng.getstate()
        list(Retry(max_attempts=5).delays(rng))
        assert rng.getstate() == state

    def test_jitter_may_exceed_max_delay_by_at_most_the_jitter_fraction(self) -> None:
        policy = Retry(max_attempts=2, base_delay=300.0, max_delay=300.0, jitter=0.2)
        samples = [policy.delay(1, random.Random(seed)) for seed in range(500)]
        assert max(samples) > 300.0
        assert all(240.0 <= sample <= 360.0 for sample in samples)

    @given(
        policy=st.builds(
            Retry,
            backoff=st.sampled_from(["exponential", "linear", "constant"]),
            base_delay=st.floats(min_value=0.0, max_value=100.0),
            max_delay=st.floats(min_value=100.0, max_value=1000.0),
            jitter=st.floats(min_value=0.0, max_value=0.99),
        ),
        retry_number=st.integers(min_value=1, max_value=10_000),
        seed=st.integers(min_value=0, max_value=2**32),
    )
    def test_jittered_delay_stays_within_the_jitter_fraction_of_the_capped_delay(
        self, policy: Retry, retry_number: int, seed: int
    ) -> None:
        capped = dataclasses.replace(policy, jitter=0.0).delay(retry_number)
        value = policy.delay(retry_number, random.Random(seed))
        assert capped <= policy.max_delay
        low, high = capped * (1 - policy.jitter), capped * (1 + policy.jitter)
        # uniform() may round a hair past its bounds; allow one part in 10**12.
        assert low * (1 - 1e-12) <= value <= high * (1 + 1e-12)


class TestValidation:
    def test_full_configuration_constructs(self) -> None:
        policy = Retry(max_attempts=10, backoff="exponential", base_delay=1.0, max_delay=300.0, jitter=0.1)
        assert policy.max_attempts == 10

    def test_positional_arguments_are_rejected(self) -> None:
        with pytest.raises(TypeError):
            Retry(3)  # type: ignore[call-arg]

    def test_policy_is_frozen(self) -> None:
        policy = Retry(max_attempts=3)
        with pytest.raises(dataclasses.FrozenInstanceError):
            policy.max_attempts = 5  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"max_attempts": 0}, r"max_attempts must be >= 1"),
            ({"max_attempts": -3}, r"max_attempts must be >= 1"),
            ({"base_delay": -1.0}, r"base_delay must be .* >= 0"),
            ({"base_delay": math.nan}, r"base_delay must be"),
            ({"max_delay": -1.0}, r"max_delay must be .* >= base_delay"),
            ({"base_delay": 10.0, "max_delay": 5.0}, r"max_delay must be .* >= base_delay"),
            ({"max_delay": math.inf}, r"max_delay must be finite"),
            ({"jitter": -0.1}, r"jitter must be in the range \[0, 1\)"),
            ({"jitter": 1.0}, r"jitter must be in the range \[0, 1\)"),
            ({"backoff": "fibonacci"}, r"backoff must be one of 'exponential', 'linear'"),
        ],
    )
    def test_invalid_values_name_the_field_and_allowed_range(
        self, kwargs: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            Retry(**kwargs)

    @pytest.mark.parametrize(
        "kwargs",
        [{"max_attempts": 2.5}, {"max_attempts": True}, {"base_delay": "1"}, {"jitter": None}],
    )
    def test_wrongly_typed_values_raise_type_error(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(TypeError):
            Retry(**kwargs)
