"""Reading recorded start times: the most starts that fall in any window of a rate."""

from __future__ import annotations


def most_in_a_window(starts: list[float], per: float) -> int:
    """The most starts in any half-open window ``[t, t + per)``."""
    starts = sorted(starts)
    most, first = 0, 0
    for last, at in enumerate(starts):
        while at - starts[first] >= per:
            first += 1
        most = max(most, last - first + 1)
    return most
