"""The retry policy's pure core: what is retried, how long it waits, and when it stops."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowstone.errors import OptionError
from flowstone.http._policy import (
    Outcome,
    Retry,
    backoff,
    is_retryable_status,
    may_retry,
    next_delay,
    parse_retry_after,
    retrying,
)

NOW = 1_800_000_000.0  # a fixed wall clock (2027-01-15)


def _run(retry: Retry, outcomes: list[Outcome], *, method_ok: bool = True) -> tuple[list[float], int, int]:
    """Run the loop over scripted outcomes; (the sleeps, the attempts, the calls made)."""
    sleeps: list[float] = []
    calls: list[int] = []

    def call(attempt: int) -> Outcome:
        calls.append(attempt)
        return outcomes[min(attempt, len(outcomes)) - 1]

    _, attempts = retrying(
        call,
        lambda outcome: outcome,
        retry=retry,
        retryable_method=method_ok,
        sleep=sleeps.append,
        now=lambda: NOW,
        random=lambda: 0.5,
    )
    assert calls == list(range(1, attempts + 1))
    return sleeps, attempts, len(calls)


class TestWhatIsRetried:
    @pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
    def test_429_and_5xx_are_retryable(self, status: int) -> None:
        assert is_retryable_status(status)

    @pytest.mark.parametrize("status", [200, 201, 301, 304, 400, 401, 403, 404, 409, 422, 428, 600])
    def test_other_statuses_are_not(self, status: int) -> None:
        assert not is_retryable_status(status)

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "get"])
    def test_idempotent_methods_may_be_retried_without_a_key(self, method: str) -> None:
        assert may_retry(method, None)

    @pytest.mark.parametrize("method", ["POST", "PATCH"])
    def test_post_and_patch_only_with_an_idempotency_key(self, method: str) -> None:
        assert not may_retry(method, None)
        assert may_retry(method, "order-42")


class TestRetryAfter:
    def test_seconds(self) -> None:
        assert parse_retry_after("7", NOW) == 7.0
        assert parse_retry_after(" 0 ", NOW) == 0.0
        assert parse_retry_after("1.5", NOW) == 1.5

    def test_an_http_date_is_the_time_until_it(self) -> None:
        when = format_datetime(datetime.fromtimestamp(NOW + 12, tz=UTC), usegmt=True)
        assert parse_retry_after(when, NOW) == pytest.approx(12.0)

    def test_a_date_in_the_past_waits_nothing(self) -> None:
        when = format_datetime(datetime.fromtimestamp(NOW - 60, tz=UTC), usegmt=True)
        assert parse_retry_after(when, NOW) == 0.0

    @pytest.mark.parametrize("value", [None, "", "soon", "-3", "Mon, 99 Foo 2026 25:00:00 GMT"])
    def test_an_unreadable_value_is_ignored(self, value: str | None) -> None:
        assert parse_retry_after(value, NOW) is None

    def test_it_is_capped_at_max_delay(self) -> None:
        retry = Retry(max_delay=5.0)
        when = format_datetime(datetime.fromtimestamp(NOW + 3600, tz=UTC), usegmt=True)
        assert next_delay(retry, 1, Outcome(503, when), NOW, lambda: 0.5) == 5.0
        assert next_delay(retry, 1, Outcome(429, "120"), NOW, lambda: 0.5) == 5.0
        assert next_delay(retry, 1, Outcome(429, "2"), NOW, lambda: 0.5) == 2.0

    def test_without_it_the_backoff_applies(self) -> None:
        retry = Retry(base_delay=1.0, jitter=False)
        assert next_delay(retry, 3, Outcome(503, "soon"), NOW, lambda: 0.5) == 4.0


class TestBackoff:
    def test_doubles_from_base_delay_up_to_max_delay(self) -> None:
        retry = Retry(base_delay=0.5, max_delay=3.0, jitter=False)
        assert [backoff(retry, n, lambda: 0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]

    def test_full_jitter_spans_zero_to_the_backoff(self) -> None:
        retry = Retry(base_delay=2.0, jitter="full")
        assert backoff(retry, 2, lambda: 0.0) == 0.0
        assert backoff(retry, 2, lambda: 0.25) == 1.0
        assert backoff(Retry(base_delay=2.0, jitter=True), 2, lambda: 0.25) == 1.0

    def test_equal_jitter_keeps_half_the_backoff(self) -> None:
        retry = Retry(base_delay=2.0, jitter="equal")
        assert backoff(retry, 2, lambda: 0.0) == 2.0
        assert backoff(retry, 2, lambda: 0.5) == 3.0

    def test_a_huge_attempt_number_stays_finite(self) -> None:
        assert backoff(Retry(jitter=False), 10_000, lambda: 0.0) == 30.0


class TestTheLoop:
    def test_503_503_200_makes_three_attempts_and_sleeps_twice(self) -> None:
        retry = Retry(base_delay=1.0, jitter=False)
        sleeps, attempts, _ = _run(retry, [Outcome(503), Outcome(503), Outcome(200)])
        assert (sleeps, attempts) == ([1.0, 2.0], 3)

    def test_no_sleep_after_the_last_attempt(self) -> None:
        sleeps, attempts, calls = _run(Retry(max_attempts=3, jitter=False), [Outcome(503)])
        assert (attempts, calls, len(sleeps)) == (3, 3, 2)

    def test_a_client_error_is_not_retried(self) -> None:
        assert _run(Retry(), [Outcome(404), Outcome(200)]) == ([], 1, 1)

    def test_a_method_that_may_not_be_retried_is_tried_once(self) -> None:
        assert _run(Retry(), [Outcome(503), Outcome(200)], method_ok=False) == ([], 1, 1)
        assert _run(Retry(), [Outcome(None), Outcome(200)], method_ok=False) == ([], 1, 1)

    def test_a_transport_error_is_retried(self) -> None:
        assert _run(Retry(jitter=False), [Outcome(None), Outcome(200)]) == ([1.0], 2, 2)

    def test_max_attempts_one_never_retries(self) -> None:
        assert _run(Retry(max_attempts=1), [Outcome(503)]) == ([], 1, 1)


outcomes = st.lists(
    st.builds(
        Outcome,
        st.one_of(st.none(), st.sampled_from([200, 204, 400, 404, 429, 500, 502, 503])),
        st.one_of(st.none(), st.integers(0, 10_000).map(str), st.sampled_from(["x", "1.5"])),
    ),
    min_size=1,
    max_size=12,
)
retries = st.builds(
    Retry,
    max_attempts=st.integers(1, 8),
    base_delay=st.floats(0, 100, allow_nan=False),
    max_delay=st.floats(0, 60, allow_nan=False),
    jitter=st.sampled_from([True, False, "full", "equal"]),
)


@given(retry=retries, script=outcomes, method_ok=st.booleans())
def test_every_sleep_is_within_max_delay_and_none_follows_the_last_attempt(
    retry: Retry, script: list[Outcome], method_ok: bool
) -> None:
    sleeps, attempts, calls = _run(retry, script, method_ok=method_ok)
    assert calls == attempts
    assert all(0 <= s <= retry.max_delay for s in sleeps)
    assert len(sleeps) == attempts - 1  # one sleep between two attempts, none after the last
    assert 1 <= attempts <= retry.max_attempts
    last = script[min(attempts, len(script)) - 1]
    if attempts < retry.max_attempts:  # it stopped early: the outcome was not worth retrying
        assert not method_ok or (last.status is not None and not is_retryable_status(last.status))


@given(when=st.integers(-10_000, 10_000), cap=st.floats(0, 60, allow_nan=False))
def test_an_http_date_delay_is_never_above_the_cap(when: int, cap: float) -> None:
    date = format_datetime(datetime.fromtimestamp(NOW + when, tz=UTC), usegmt=True)
    delay = next_delay(Retry(max_delay=cap), 1, Outcome(429, date), NOW, lambda: 0.9)
    assert 0 <= delay <= cap
    assert delay == pytest.approx(min(max(when, 0), cap))


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"max_attempts": 2.0},
        {"base_delay": -1},
        {"max_delay": float("inf")},
        {"base_delay": "1"},
        {"jitter": "half"},
    ],
)
def test_a_bad_retry_option_is_an_option_error_naming_it(options: dict[str, object]) -> None:
    with pytest.raises(OptionError, match=f"fs.http.Retry: {next(iter(options))}"):
        Retry(**options)  # type: ignore[arg-type]
