"""The retry policy of ``fs.http.Client``: a pure core, with no httpx and no clock of its own.

Which outcomes are retried (transport errors, 429 and 5xx), which methods may be
(idempotent ones, POST/PATCH only with an idempotency key), how long to wait (the
server's ``Retry-After`` in seconds or as an HTTP date, else exponential backoff with
full or equal jitter, always capped at ``max_delay``) and the loop that ties them
together over an injected ``sleep``, wall clock and random source, so the tests run
every schedule without sleeping. The loop never sleeps after the last attempt — the
Elixir original did, and ignored HTTP-date ``Retry-After`` and never capped it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal, TypeVar

from flowstone._error_base import OptionError

__all__ = [
    "IDEMPOTENT_METHODS",
    "Outcome",
    "Retry",
    "backoff",
    "is_retryable_status",
    "may_retry",
    "next_delay",
    "parse_retry_after",
    "retrying",
]

R = TypeVar("R")

#: Methods whose repetition has the effect of one call (RFC 9110 §9.2.2); POST and PATCH
#: are retried only when the caller gives an idempotency key.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")

Jitter = bool | Literal["full", "equal"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How an ``fs.http.Client`` retries a request.

    Attributes:
        max_attempts: tries in all, the first included (1 turns retries off).
        base_delay: seconds before the second attempt; doubled for each one after.
        max_delay: the most seconds between two attempts, ``Retry-After`` included.
        jitter: ``True`` or ``"full"`` waits a random time in ``[0, backoff]`` (spreads
            clients that failed together best); ``"equal"`` in ``[backoff/2, backoff]``
            (keeps a floor); ``False`` waits the backoff exactly.
    """

    max_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: Jitter = True

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise OptionError(f"fs.http.Retry: max_attempts must be an int >= 1, got {self.max_attempts!r}")
        if self.max_attempts < 1:
            raise OptionError(f"fs.http.Retry: max_attempts must be >= 1, got {self.max_attempts!r}")
        for field in ("base_delay", "max_delay"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise OptionError(f"fs.http.Retry: {field} must be a number of seconds, got {value!r}")
            if value < 0:
                raise OptionError(f"fs.http.Retry: {field} must be >= 0, got {value!r}")
        if not (self.jitter is True or self.jitter is False or self.jitter in ("full", "equal")):
            raise OptionError(
                f"fs.http.Retry: jitter must be True, False, 'full' or 'equal', got {self.jitter!r}"
            )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt gave, as the policy sees it.

    Attributes:
        status: the response's status, or None for a transport error (no response).
        retry_after: the response's ``Retry-After`` header, if any.
    """

    status: int | None
    retry_after: str | None = None


def is_retryable_status(status: int) -> bool:
    """429 (too many requests) and every 5xx: the server may answer otherwise later."""
    return status == 429 or 500 <= status <= 599


def may_retry(method: str, idempotency_key: str | None) -> bool:
    """Idempotent methods always; any other only with an idempotency key, which lets the
    server recognise a repeated POST instead of acting twice."""
    return method.upper() in IDEMPOTENT_METHODS or idempotency_key is not None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3): a number of
    seconds or an HTTP date, ``now`` being the wall clock (epoch seconds). A date in the
    past gives 0; a value that is neither gives None (the backoff applies instead)."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):  # RFC: an integer; a fraction is accepted too
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an obsolete date form without a zone: HTTP dates are GMT
        return None
    return max(0.0, when.timestamp() - now)


def backoff(retry: Retry, attempt: int, random: Callable[[], float]) -> float:
    """The wait after failed attempt number ``attempt`` (1-based) without ``Retry-After``:
    ``base_delay * 2 ** (attempt - 1)`` capped at ``max_delay``, then jittered."""
    exponent = min(attempt - 1, 64)  # 2**64 s is past any cap; keeps the float finite
    ceiling = min(retry.max_delay, retry.base_delay * 2.0**exponent)
    if retry.jitter is False:
        return ceiling
    if retry.jitter == "equal":
        return ceiling / 2 + random() * ceiling / 2
    return random() * ceiling


def next_delay(
    retry: Retry, attempt: int, outcome: Outcome, now: float, random: Callable[[], float]
) -> float:
    """The wait before the next attempt: the server's ``Retry-After`` when it gave a
    readable one (it knows best when it can serve again), else the backoff; never more
    than ``max_delay``."""
    asked = parse_retry_after(outcome.retry_after, now)
    delay = backoff(retry, attempt, random) if asked is None else asked
    return min(delay, retry.max_delay)


def retrying(
    call: Callable[[int], R],
    classify: Callable[[R], Outcome],
    *,
    retry: Retry,
    retryable_method: bool,
    sleep: Callable[[float], None],
    now: Callable[[], float],
    random: Callable[[], float],
) -> tuple[R, int]:
    """Call ``call(attempt)`` until its outcome is not worth retrying or the attempts run
    out; return the last result and how many attempts were made.

    ``call`` returns a result (a response, or the transport error it caught); ``classify``
    tells the policy what it was. There is no sleep after the last attempt, and none
    after an outcome that is not retried.
    """
    attempt = 1
    while True:
        result = call(attempt)
        outcome = classify(result)
        retryable = outcome.status is None or is_retryable_status(outcome.status)
        if not (retryable and retryable_method) or attempt >= retry.max_attempts:
            return result, attempt
        sleep(next_delay(retry, attempt, outcome, now(), random))
        attempt += 1
