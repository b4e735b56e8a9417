"""Retry policies: how often an asset is retried and how long to wait before each retry.

``Retry`` is option data over the one backoff schedule of the runtime
(``supervisors.backoff_delay``, shared with supervisor restarts and reconnect loops). It
never sleeps and never reads a clock;
the runner asks it for a delay and waits on its own injected clock, so tests of retry
timing run instantly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Self, TypeAlias, get_args

from flowstone.errors import OptionError
from supervisors import backoff_delay

__all__ = ["Backoff", "Retry"]

Backoff: TypeAlias = Literal["exponential", "linear", "constant"]

_BACKOFFS: tuple[str, ...] = get_args(Backoff)


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How many times to try an asset, and the backoff between tries.

    The delay before retry ``n`` grows with ``backoff`` (``base_delay * 2**(n-1)``,
    ``base_delay * n`` or ``base_delay``) and is capped at ``max_delay``. Jitter is applied
    after the cap and is *not* clamped again: the delay is multiplied by a uniform factor in
    ``[1 - jitter, 1 + jitter]``, so it may exceed ``max_delay`` by up to the ``jitter``
    fraction. Clamping would pile every capped retry onto exactly ``max_delay`` and bring
    back the thundering herd that jitter exists to break up.

    Attributes:
        max_attempts: total tries including the first; 1 means never retry.
        backoff: how the delay grows with each retry.
        base_delay: seconds before the first retry (before jitter).
        max_delay: the most seconds any retry waits before jitter; finite.
        jitter: the fraction, in ``[0, 1)``, by which each delay is spread randomly.
    """

    max_attempts: int = 1
    backoff: Backoff = "exponential"
    base_delay: float = 1.0
    max_delay: float = 300.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise OptionError(f"max_attempts must be an int >= 1, got {self.max_attempts!r}")
        if self.max_attempts < 1:
            raise OptionError(f"max_attempts must be >= 1 (1 means no retries), got {self.max_attempts!r}")
        if self.backoff not in _BACKOFFS:
            allowed = ", ".join(repr(name) for name in _BACKOFFS)
            raise OptionError(f"backoff must be one of {allowed}, got {self.backoff!r}")
        for field in ("base_delay", "max_delay", "jitter"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise OptionError(f"{field} must be a number of seconds, got {value!r}")
        # Written as "not (in range)" so NaN, which fails every comparison, is rejected too.
        if not 0 <= self.base_delay < math.inf:
            raise OptionError(f"base_delay must be a finite number of seconds >= 0, got {self.base_delay!r}")
        if not self.base_delay <= self.max_delay < math.inf:
            raise OptionError(
                f"max_delay must be finite and >= base_delay ({self.base_delay!r}), got {self.max_delay!r}"
            )
        if not 0 <= self.jitter < 1:
            raise OptionError(f"jitter must be in the range [0, 1), got {self.jitter!r}")

    @classmethod
    def none(cls) -> Self:
        """The policy that never retries: one attempt."""
        return cls(max_attempts=1)

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 is the first retry).

        ``retry_number`` is not checked against ``max_attempts``, so a caller may ask for
        any point of the schedule. ``rng`` is used only when ``jitter`` is non-zero; pass a
        seeded ``random.Random`` for repeatable delays. Without one, a fresh generator
        seeded by the OS is used (never the shared ``random`` module state).

        Raises:
            ValueError: ``retry_number`` is less than 1.
        """
        if isinstance(retry_number, bool) or not isinstance(retry_number, int):
            raise OptionError(f"retry_number must be an int >= 1, got {retry_number!r}")
        if retry_number < 1:
            raise OptionError(f"retry_number must be >= 1, got {retry_number!r}")
        return backoff_delay(
            retry_number,
            base=self.base_delay,
            cap=self.max_delay,
            growth=self.backoff,
            jitter=self.jitter,
            rng=rng,
        )

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The delay before each retry in turn: ``max_attempts - 1`` values."""
        if rng is None and self.jitter != 0:
            rng = random.Random()
        for retry_number in range(1, self.max_attempts):
            yield self.delay(retry_number, rng)
