"""The one backoff schedule: supervisor restarts, FlowStone's retries and reconnect loops.

A pure function of the attempt number (no clock, no sleeping), so each caller waits on its
own injected clock or event. One set of rules everywhere:

- the un-jittered delay before attempt ``n`` (1-based) is ``base * factor**(n-1)``
  (``exponential``), ``base * n`` (``linear``) or ``base`` (``constant``), capped at ``cap``;
  the cap is decided without building a float too large (a huge ``n`` never overflows);
- jitter multiplies the capped delay by a uniform factor in ``[1 - jitter, 1 + jitter]`` and
  is *not* clamped again: clamping would pile every capped delay onto exactly ``cap`` and
  bring back the thundering herd that jitter is there to break up;
- without an ``rng``, jitter comes from a fresh OS-seeded ``random.Random``, never from the
  shared ``random`` module state (which a test or a library may have seeded).

``supervisors`` must not import ``flowstone``, so the schedule lives here and FlowStone's
``fs.Retry`` and its listeners' reconnect loops call it.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Literal, TypeAlias

__all__ = ["Growth", "backoff_delay"]

Growth: TypeAlias = Literal["exponential", "linear", "constant"]


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    growth: Growth = "exponential",
    factor: float = 2.0,
    jitter: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt number ``attempt`` (1 is the first retry or restart).

    ``factor`` is the ratio of an ``exponential`` schedule. ``rng`` is used only when
    ``jitter`` is non-zero; pass a seeded ``random.Random`` for repeatable delays. The
    arguments are the caller's validated options (``0 <= base <= cap``, ``factor >= 1``,
    ``0 <= jitter < 1``); only ``attempt`` is checked here.

    Raises:
        ValueError: ``attempt`` is less than 1.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt!r}")
    capped = _capped(attempt, float(base), float(cap), growth, float(factor))
    if jitter == 0 or capped == 0:
        return capped
    rng = rng if rng is not None else random.Random()
    return capped * rng.uniform(1 - jitter, 1 + jitter)


def _capped(n: int, base: float, cap: float, growth: Growth, factor: float) -> float:
    if base == 0:
        return 0.0
    if growth == "constant":
        return min(base, cap)
    if growth == "linear":
        # Exact arithmetic: float(n) alone overflows for huge n, and cap / base can round.
        exact = Fraction(base) * n
        return cap if exact >= cap else float(exact)
    if factor == 1:
        return min(base, cap)
    if factor == 2:
        # base lies in [2**(base_exp-1), 2**base_exp) and cap below 2**cap_exp. Once
        # n-1 > cap_exp - base_exp, base * 2**(n-1) >= 2**cap_exp > cap; below that the
        # product stays under 2**cap_exp <= 2**1024 and ldexp is exact and cannot overflow.
        _, base_exp = math.frexp(base)
        _, cap_exp = math.frexp(cap)
        if n - 1 > cap_exp - base_exp:
            return cap
        return min(math.ldexp(base, n - 1), cap)
    try:
        grown = base * factor ** (n - 1)
    except OverflowError:  # factor ** (n - 1) alone is beyond a float; compare logarithms
        log_grown = math.log(base) + (n - 1) * math.log(factor)
        return cap if log_grown >= math.log(cap) else min(math.exp(log_grown), cap)
    return min(grown, cap)  # base * a huge power may round to inf, which the cap absorbs
