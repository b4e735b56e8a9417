"""The overview of an asset's partitions: how many are in each state, and which.

A pure function over the declared set and the newest state of each stored partition key
(one store query), so it is the same on every store and testable without one. Members of
a time set are compressed into ``(first, last)`` ranges, which keeps the overview of
100,000 days a handful of ranges; other sets list their partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from flowstone import partitions
from flowstone._partition_format import Partition

__all__ = ["MISSING", "PartitionStatus", "partition_status", "partition_status_around"]

MISSING: Final = "missing"
"""The state of a member of the set that has no record yet."""

_ORDER: Final = ("completed", "failed", "running", "pending", "suspended", "skipped", MISSING)
_LABELS: Final = {"completed": "materialized"}
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class PartitionStatus:
    """Where every partition of one asset stands (``node.partition_status``).

    Attributes:
        asset: the asset's name.
        partition_set: its declared set, or None (then only recorded partitions count).
        total: members of the set (up to now for an open-ended one), or recorded
            partitions without a set.
        counts: state → how many partitions are in it (``completed``, ``failed``,
            ``running``, ..., and ``missing`` for members never run); states with none
            are left out.
        partitions: state → its partitions in the set's order; for a time set, inclusive
            ``(first, last)`` ranges of consecutive members instead.
    """

    asset: str
    partition_set: partitions.PartitionSet | None
    total: int
    counts: Mapping[str, int]
    partitions: Mapping[str, tuple[Any, ...]]

    @property
    def ranged(self) -> bool:
        """Whether ``partitions`` holds ``(first, last)`` ranges (a time set)."""
        return isinstance(self.partition_set, partitions.TimeSet)

    def summary(self) -> str:
        """One line: ``56 of 59 days materialized, 2 failed, 1 running``."""
        pset = self.partition_set
        unit = (
            "days"
            if isinstance(pset, partitions.Daily)
            else "hours"
            if isinstance(pset, partitions.Hourly)
            else "partitions"
        )
        parts = [f"{self.counts.get('completed', 0)} of {self.total} {unit} materialized"]
        parts += [
            f"{self.counts[state]} {_LABELS.get(state, state)}"
            for state in self.counts
            if state not in ("completed", MISSING)
        ]
        return ", ".join(parts)

    def describe(self, state: str) -> list[str]:
        """The partitions in ``state`` as text (``2025-01-03..2025-01-05`` for a range)."""
        pset = self.partition_set
        shown = pset.format if pset is not None else partitions.describe
        if self.ranged:
            return [
                shown(a) if a == b else f"{shown(a)}..{shown(b)}" for a, b in self.partitions.get(state, ())
            ]
        return [shown(p) for p in self.partitions.get(state, ())]

    def to_json(self) -> dict[str, Any]:
        """The same data as plain JSON types, partitions as their set's text."""
        return {
            "asset": self.asset,
            "set": None if self.partition_set is None else repr(self.partition_set),
            "total": self.total,
            "counts": dict(self.counts),
            "partitions": {state: self.describe(state) for state in self.partitions},
            "summary": self.summary(),
        }


def partition_status(
    asset: str, pset: partitions.PartitionSet | None, states: Mapping[str, str]
) -> PartitionStatus:
    """The overview of ``asset`` from its set and the newest state per partition key.

    Keys recorded outside the declared set (from before it was declared) are not counted.
    """
    if isinstance(pset, partitions.TimeSet):
        return _timed(asset, pset, states)
    grouped: dict[str, list[Partition]] = {}
    members: Iterable[Partition]
    if pset is None:
        members = (partitions.deserialize(key) for key in states)
        for partition, state in zip(members, states.values(), strict=True):
            grouped.setdefault(state, []).append(partition)
        total = len(states)
    else:
        for partition in pset:
            state = states.get(partitions.serialize(partition), MISSING)
            grouped.setdefault(state, []).append(partition)
        total = sum(len(group) for group in grouped.values())
    ordered = _ordered(grouped)
    return PartitionStatus(
        asset, pset, total, {s: len(g) for s, g in ordered.items()}, {s: tuple(g) for s, g in ordered.items()}
    )


def partition_status_around(
    asset: str, pset: partitions.TimeSet, majority: str, majority_count: int, others: Mapping[str, str]
) -> PartitionStatus | None:
    """The overview of a time set from a summary: how many members are in the most common
    state (``majority_count``) and the keys of every other state (``others``), or None
    when that does not tell where the common state's members are (some are missing).

    When the members in ``others`` and the ``majority_count`` add up to the whole set, no
    member is missing and the common state holds exactly the gaps between the others: its
    ranges are computed without reading its (say 100,000) keys.
    """
    first, last = pset._first, pset._bound()
    position_of = pset._key_position
    positions: dict[str, list[int]] = {}
    for key, state in others.items():
        position = position_of(key)
        if position is not None and first <= position <= last:
            positions.setdefault(state, []).append(position)
    taken = sorted(p for group in positions.values() for p in group)
    total = max(0, last - first + 1)
    if majority_count + len(taken) != total:
        return None
    counts: dict[str, int] = {}
    ranges: dict[str, list[tuple[Partition, Partition]]] = {}
    gaps = _pairs(list(_gaps(taken, first, last)))
    if gaps:
        counts[majority] = majority_count
        ranges[majority] = [(pset._at(a), pset._at(b)) for a, b in gaps]
    for state, group in positions.items():
        group.sort()
        counts[state] = len(group)
        ranges[state] = [(pset._at(a), pset._at(b)) for a, b in _runs(group)]
    counts = {s: counts[s] for s in _ordered(counts)}
    return PartitionStatus(asset, pset, total, counts, {s: tuple(ranges[s]) for s in counts})


def _timed(asset: str, pset: partitions.TimeSet, states: Mapping[str, str]) -> PartitionStatus:
    first, last = pset._first, pset._bound()
    positions: dict[str, list[int]] = {}
    position_of = pset._key_position
    for key, state in states.items():
        position = position_of(key)
        if position is not None and first <= position <= last:
            positions.setdefault(state, []).append(position)
    recorded = sorted(p for group in positions.values() for p in group)
    positions[MISSING] = list(_gaps(recorded, first, last))
    counts: dict[str, int] = {}
    ranges: dict[str, list[tuple[Partition, Partition]]] = {}
    for state, group in positions.items():
        if state != MISSING:  # the missing list is already ordered (start, end) pairs
            group.sort()
        count = len(group) if state != MISSING else sum(b - a + 1 for a, b in _pairs(group))
        if not count:
            continue
        counts[state] = count
        pairs = _pairs(group) if state == MISSING else _runs(group)
        ranges[state] = [(pset._at(a), pset._at(b)) for a, b in pairs]
    counts = {s: counts[s] for s in _ordered(counts)}
    total = max(0, last - first + 1)
    return PartitionStatus(asset, pset, total, counts, {s: tuple(ranges[s]) for s in counts})


def _gaps(recorded: list[int], first: int, last: int) -> Iterator[int]:
    """The missing ranges as a flat list of (start, end) pairs: [a1, b1, a2, b2, ...]."""
    cursor = first
    for position in recorded:
        if position > cursor:
            yield cursor
            yield position - 1
        cursor = max(cursor, position + 1)
    if cursor <= last:
        yield cursor
        yield last


def _pairs(flat: list[int]) -> list[tuple[int, int]]:
    return list(zip(flat[::2], flat[1::2], strict=True))


def _runs(sorted_positions: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for position in sorted_positions:
        if runs and position == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    return runs


def _ordered(grouped: Mapping[str, _T]) -> dict[str, _T]:
    known = [s for s in _ORDER if s in grouped]
    return {s: grouped[s] for s in [*known, *sorted(set(grouped) - set(_ORDER))]}
