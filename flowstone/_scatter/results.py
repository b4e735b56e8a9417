"""What a gather receives, and whether the scatter's failures are within its tolerance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flowstone import codec
from flowstone._store.barrier import ScatterBarrier
from flowstone.errors import ScatterError

__all__ = ["FIRST_ERRORS", "Results", "check_tolerance"]

FIRST_ERRORS = 5
"""How many failures a ``ScatterError`` quotes."""


class Results:
    """The ``(key, value)`` pairs of a scatter's finished keys, streamed from the store in
    key order (a batch's key is the tuple of its items); iterable more than once.

    ``failed`` holds the tolerated failures as ``(key, error text)`` pairs.
    """

    def __init__(self, barrier: ScatterBarrier, run_id: str, asset: str, *, done: int) -> None:
        self._barrier = barrier
        self._run_id = run_id
        self._asset = asset
        self._done = done
        self._failed: list[tuple[Any, str]] | None = None

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for _, key, result in self._barrier.results(self._run_id, self._asset):
            yield codec.decode(key), codec.decode(result)

    def __len__(self) -> int:
        return self._done

    def __repr__(self) -> str:
        return f"<scatter results of {self._asset!r}: {self._done} done, {len(self.failed)} failed>"

    def values(self) -> Iterator[Any]:
        """The values alone, in key order."""
        for _, value in self:
            yield value

    @property
    def failed(self) -> list[tuple[Any, str]]:
        if self._failed is None:
            self._failed = [
                (codec.decode(key), error)
                for _, key, error in self._barrier.failures(self._run_id, self._asset)
            ]
        return self._failed


def check_tolerance(
    *, asset: str, run_id: str, total: int, failed: int, tolerate: float, first: list[tuple[Any, str]]
) -> None:
    """Raise ``ScatterError`` if more than ``tolerate`` of ``total`` keys failed.

    Exactly at the threshold is within it (5 of 100 with ``tolerate=0.05``); the product
    is rounded so that float error never turns 29 of 100 at 0.29 into a failure.
    """
    if failed == 0 or failed <= round(tolerate * total, 9):
        return
    shown = "; ".join(f"{key!r}: {error}" for key, error in first[:FIRST_ERRORS])
    raise ScatterError(
        f"asset {asset!r} (run {run_id}): {failed} of {total} scatter keys failed, more than "
        f"tolerate={tolerate} allows ({int(tolerate * total)}); first errors: {shown}. Fix the keys' "
        "failures, or raise tolerate",
        asset=asset,
        run_id=run_id,
        total=total,
        failed=failed,
        tolerate=tolerate,
        errors=tuple(first[:FIRST_ERRORS]),
    )
