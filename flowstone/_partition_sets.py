"""Partition sets: which partitions an asset has, in order, parsed and shown one way.

A set answers ``len()``, iteration in order, ``partition in pset``, ``parse(text)``,
``format(partition)`` and ``range(first, last)`` (both ends included). Sets are values:
equal sets compare equal, so two assets declaring ``Daily("2025-01-01")`` share one set.

The time sets (:class:`Daily`, :class:`Hourly`) live in ``_partition_time``; this module
holds :class:`Static` and :class:`Multi` and gathers them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Final

from flowstone._partition_base import PartitionSet
from flowstone._partition_format import Partition, encode
from flowstone._partition_text import parse_one, to_text
from flowstone._partition_time import Daily, Hourly, TimeSet
from flowstone._partition_values import static
from flowstone.errors import OptionError, PartitionError

__all__ = ["Daily", "Hourly", "Multi", "PartitionSet", "Static", "TimeSet"]

_SEPARATOR: Final = "|"


class Static(PartitionSet):
    """A fixed, ordered list of partitions: ``Static(["eu", "us"])``.

    Values are validated, must be unique and must have distinct texts (``"1"`` and ``1``
    would both be written ``1`` on a command line). A string is written as it is: the
    set knows ``"42"`` is one of its strings.
    """

    __slots__ = ("_by_text", "_index", "values")

    def __init__(self, values: Iterable[Partition]) -> None:
        self.values: tuple[Partition, ...] = static(values)
        self._index = {value: index for index, value in enumerate(self.values)}
        self._by_text: dict[str, Partition] = {}
        for value in self.values:
            text = _raw_text(value)
            other = self._by_text.setdefault(text, value)
            if other is not value:
                raise PartitionError(
                    f"Static values {other!r} and {value!r} are both written {text!r}; keep one"
                )

    def __contains__(self, partition: object) -> bool:
        try:
            index = self._index.get(partition)  # type: ignore[call-overload]
        except TypeError:  # unhashable
            return False
        # 1 == 1.0 == True and dicts agree: compare types too, as the store would.
        return index is not None and type(self.values[index]) is type(partition)

    def __iter__(self) -> Iterator[Partition]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def _parse(self, text: str) -> Partition:
        if text in self._by_text:
            return self._by_text[text]
        return parse_one(text)

    def _format(self, partition: Partition) -> str:
        return _raw_text(partition)

    def _order(self, partition: Partition) -> int:
        return self._index[partition]

    def _range(self, first: Partition, last: Partition) -> PartitionSet:
        return Static(self.values[self._index[first] : self._index[last] + 1])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Static) and [encode(v) for v in self.values] == [
            encode(v) for v in other.values
        ]

    def __hash__(self) -> int:
        return hash(tuple(encode(value) for value in self.values))

    def __repr__(self) -> str:
        shown = ", ".join(repr(_raw_text(value)) for value in self.values[:5])
        more = f", ... {len(self.values)} values" if len(self.values) > 5 else ""
        return f"Static([{shown}{more}])"


class Multi(PartitionSet):
    """The product of named sets: ``Multi(region=Static(["eu", "us"]), day=Daily(...))``.

    A partition is a plain tuple with one value per dimension, in the order the
    dimensions are given (``("eu", date(2025, 1, 1))``); :meth:`named` gives it as a
    dict. Its text joins the dimensions' texts with ``|``: ``eu|2025-01-01``. Iteration
    is in product order (the last dimension varies fastest).
    """

    __slots__ = ("dimensions", "sets")

    def __init__(self, **dimensions: PartitionSet) -> None:
        if len(dimensions) < 2:
            raise OptionError(
                "Multi needs at least two dimensions, e.g. Multi(region=Static([...]), day=Daily(...))"
            )
        for name, member in dimensions.items():
            if not isinstance(member, PartitionSet) or isinstance(member, Multi):
                raise OptionError(
                    f"Multi dimension {name!r} must be a Daily, Hourly or Static set, got {member!r}"
                )
            if isinstance(member, Static) and any(_SEPARATOR in _raw_text(value) for value in member):
                raise OptionError(f"Multi dimension {name!r} has a value whose text contains {_SEPARATOR!r}")
        self.dimensions: tuple[str, ...] = tuple(dimensions)
        self.sets: tuple[PartitionSet, ...] = tuple(dimensions.values())

    def named(self, partition: Partition) -> dict[str, Partition]:
        """The dimensions of a member by name: ``{"region": "eu", "day": date(...)}``."""
        values = self.check(partition)
        assert isinstance(values, tuple)
        return dict(zip(self.dimensions, values, strict=True))

    def __contains__(self, partition: object) -> bool:
        return (
            type(partition) is tuple
            and len(partition) == len(self.sets)
            and all(value in member for value, member in zip(partition, self.sets, strict=True))
        )

    def __iter__(self) -> Iterator[Partition]:
        return itertools.product(*self.sets)

    def __len__(self) -> int:
        total = 1
        for member in self.sets:
            total *= len(member)
        return total

    def _parse(self, text: str) -> Partition:
        parts = text.split(_SEPARATOR)
        if len(parts) != len(self.sets):
            raise PartitionError(
                f"{self!r}: {text!r} has {len(parts)} part(s); write one per dimension "
                f"({_SEPARATOR.join(self.dimensions)})"
            )
        return tuple(member.parse(part) for member, part in zip(self.sets, parts, strict=True))

    def _format(self, partition: Partition) -> str:
        assert isinstance(partition, tuple)
        return _SEPARATOR.join(
            member.format(value) for member, value in zip(self.sets, partition, strict=True)
        )

    def _order(self, partition: Partition) -> int:
        return 0  # a box has no single order: each dimension is checked by its own range

    def _range(self, first: Partition, last: Partition) -> PartitionSet:
        assert isinstance(first, tuple)
        assert isinstance(last, tuple)
        boxes = {
            name: member.range(low, high)
            for name, member, low, high in zip(self.dimensions, self.sets, first, last, strict=True)
        }
        return Multi(**boxes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Multi) and (self.dimensions, self.sets) == (other.dimensions, other.sets)

    def __hash__(self) -> int:
        return hash((self.dimensions, self.sets))

    def __repr__(self) -> str:
        return (
            "Multi(" + ", ".join(f"{n}={s!r}" for n, s in zip(self.dimensions, self.sets, strict=True)) + ")"
        )


def _raw_text(value: Partition) -> str:
    """A static value's text: a string as it is (the set knows it is a string)."""
    return value if isinstance(value, str) else to_text(value)
