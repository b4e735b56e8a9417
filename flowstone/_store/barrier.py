"""The scatter barrier: one row per key (or batch) of a scatter asset, in the store.

A scatter writes its keys as units (``add``, a page at a time with the reader's cursor),
workers ``claim`` units under a lease (never more running than ``max_running``, never
faster than one start per ``interval``), and ``complete`` or ``fail`` them; the asset
waits until none is left open, then streams the ``results`` in key order to its gather.
Every change is one transaction and conditional (a unit completes only while its holder
still has it), so a late or repeated delivery changes nothing, and whatever is committed
survives a crash: finished units are never run again.

Keys and results are codec bytes; the barrier never decodes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "HeadState",
    "NewUnit",
    "Progress",
    "ScatterBarrier",
    "ScatterHead",
    "Unit",
    "UnitState",
]

HeadState = Literal["open", "gathering", "gathered", "failed", "cancelled"]
UnitState = Literal["pending", "running", "done", "failed"]

#: How many rows a streaming query reads per round trip.
PAGE = 1000


@dataclass(frozen=True, slots=True)
class ScatterHead:
    """A scatter as a whole: how far its keys were read, and whether it has ended.

    Attributes:
        cursor: the reader's cursor (codec bytes) after the last page written; None before.
        next_position: the position the next key written gets.
        expanded: every key is written (``total`` is then known).
        total: how many units the scatter has, once expanded (or a reader's count).
        next_start_at: with a rate, the earliest time (epoch seconds) of the next start.
        pipeline_ref: ``package.module:attribute`` of the pipeline, when it is importable:
            what lets a worker that did not start the scatter help run its keys.
    """

    pipeline: str
    run_id: str
    asset: str
    partition_key: str
    state: HeadState
    cursor: bytes | None
    next_position: int
    expanded: bool
    total: int | None
    next_start_at: float
    pipeline_ref: str | None = None


@dataclass(frozen=True, slots=True)
class NewUnit:
    """A unit to write: its position, the digest that identifies its key, and the key."""

    position: int
    digest: bytes
    key: bytes


@dataclass(frozen=True, slots=True)
class Unit:
    """A claimed unit: its position, key bytes and how many times it has been claimed."""

    position: int
    key: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a scatter is (``node.scatter_progress``).

    Attributes:
        total: how many keys (or batches) it has, None while they are still being read.
        done: finished.
        failed: failed after their retries.
        running: claimed and not yet finished.
        state: the scatter's state (``open`` while keys run).
    """

    total: int | None
    done: int
    failed: int
    running: int
    state: str = "open"

    @property
    def finished(self) -> int:
        return self.done + self.failed


class ScatterBarrier(Protocol):
    """Where a store keeps its scatters (``store.barrier``)."""

    def begin(
        self, pipeline: str, run_id: str, asset: str, partition_key: str, pipeline_ref: str | None = None
    ) -> ScatterHead:
        """The scatter's head, created (open, nothing written) if it does not exist yet."""

    def helpable(self, limit: int) -> list[ScatterHead]:
        """Open scatters whose keys are all written and whose pipeline is importable (a
        ``pipeline_ref``): those another worker can help with."""

    def head(self, run_id: str, asset: str) -> ScatterHead | None:
        """The scatter's head, or None if there is none."""

    def find_open(self, pipeline: str, asset: str, partition_key: str) -> ScatterHead | None:
        """An open scatter of this asset and partition (any run's): a run that resumes a
        crashed one (a rescued job runs again under a new run id) adopts its barrier."""

    def add(
        self,
        run_id: str,
        asset: str,
        units: Sequence[NewUnit],
        *,
        cursor: bytes | None,
        next_position: int,
        expanded: bool,
        total: int | None = None,
    ) -> int:
        """Write units (one whose digest or position is already there is skipped) and
        move the head's cursor, in one transaction; how many were new."""

    def claim(
        self,
        run_id: str,
        asset: str,
        *,
        holder: str,
        limit: int,
        lease_until: float,
        now: float,
        max_running: int | None = None,
        interval: float | None = None,
        burst: int = 1,
    ) -> list[Unit]:
        """Lease up to ``limit`` pending units (or running ones whose lease ran out) in
        position order, keeping at most ``max_running`` leased at once and, with an
        ``interval``, at most ``burst`` starts at once and one per ``interval`` after."""

    def renew(
        self, run_id: str, asset: str, holder: str, positions: Sequence[int], lease_until: float
    ) -> int:
        """Extend the leases ``holder`` still has; how many."""

    def complete(
        self, run_id: str, asset: str, position: int, holder: str, result: bytes, now: float
    ) -> bool:
        """Mark a leased unit done with its encoded result; False if ``holder`` lost it."""

    def fail(self, run_id: str, asset: str, position: int, holder: str, error: str, now: float) -> bool:
        """Mark a leased unit failed (after its retries); False if ``holder`` lost it."""

    def finish_units(
        self,
        run_id: str,
        asset: str,
        holder: str,
        done: Sequence[tuple[int, bytes]],
        failed: Sequence[tuple[int, str]],
        now: float,
    ) -> set[int]:
        """Complete and fail many leased units in one transaction (a group commit); the
        positions that ``holder`` still had, which are the ones changed."""

    def release(self, run_id: str, asset: str, holder: str) -> int:
        """Give the units ``holder`` has leased back, unrun; how many."""

    def progress(self, run_id: str, asset: str) -> Progress | None:
        """Counts of the scatter's units by state; None if there is no such scatter."""

    def results(self, run_id: str, asset: str, page: int = PAGE) -> Iterator[tuple[int, bytes, bytes]]:
        """``(position, key, result)`` of the done units in position order, a page at a time."""

    def failures(self, run_id: str, asset: str, page: int = PAGE) -> Iterator[tuple[int, bytes, str]]:
        """``(position, key, error)`` of the failed units in position order."""

    def finish(self, run_id: str, asset: str, *, from_states: Sequence[HeadState], to: HeadState) -> bool:
        """Move the head from one of ``from_states`` to ``to``; False (nothing changed) if
        it was in none of them: the move is taken once, by one worker."""

    def discard(self, run_id: str, asset: str) -> int:
        """Remove the scatter and all its units; how many units."""
