"""Partition mappings: which upstream partitions one downstream partition reads.

``@pipeline.asset(partitions=daily, deps={"settings": Unpartitioned(), "orders": Window(-6, 0)})``.
A mapping is pure: given the downstream partition and the upstream's set, it names the
upstream partitions, in order. Whether the asset receives one value or a dict
partition → value is the mapping's ``single``. The pipeline picks the default mapping of
a dependency (:func:`default_mapping`) and checks each against the two sets when it is
validated (:meth:`PartitionMapping.check`), so a misfit is a ``DefinitionError`` then,
not a surprise at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from flowstone._partition_base import PartitionSet
from flowstone._partition_format import Partition
from flowstone._partition_sets import Static
from flowstone._partition_time import TimeSet
from flowstone._partition_values import validate
from flowstone.errors import DefinitionError

__all__ = [
    "All",
    "Custom",
    "Identity",
    "Last",
    "PartitionMapping",
    "Unpartitioned",
    "Window",
    "default_mapping",
    "mapping_of",
    "resolve_mappings",
]

_NO_SET: Final = "declares no partition set"


class PartitionMapping:
    """How a downstream partition maps to upstream partitions (subclasses below)."""

    __slots__ = ()
    single: bool = True  # one value (else a dict partition → value)

    def upstream(self, partition: Partition, upstream_set: PartitionSet | None) -> Iterable[Partition]:
        """The upstream partitions ``partition`` reads, in the upstream set's order."""
        raise NotImplementedError

    def check(self, where: str, down: PartitionSet | None, up: PartitionSet | None) -> None:
        """Raise ``DefinitionError`` if the mapping cannot fit these two sets."""


@dataclass(frozen=True, slots=True)
class Identity(PartitionMapping):
    """The same partition upstream (the default when the sets match)."""

    def upstream(self, partition: Partition, upstream_set: PartitionSet | None) -> Iterable[Partition]:
        return (partition,)

    def check(self, where: str, down: PartitionSet | None, up: PartitionSet | None) -> None:
        if down is not None and up is not None and down != up and type(down) is not type(up):
            raise DefinitionError(
                f"{where}: Identity maps {down!r} onto {up!r}, which differ; declare the same "
                "set on both, or give a mapping (Window, All, Last, Unpartitioned, a function)"
            )


@dataclass(frozen=True, slots=True)
class Unpartitioned(PartitionMapping):
    """The upstream's one value (its partition None), read by every downstream partition.

    The default when the upstream declares no set and the downstream does: the upstream
    is materialized once, not once per downstream partition.
    """

    def upstream(self, partition: Partition, upstream_set: PartitionSet | None) -> Iterable[Partition]:
        return (None,)

    def check(self, where: str, down: PartitionSet | None, up: PartitionSet | None) -> None:
        if up is not None:
            raise DefinitionError(
                f"{where}: Unpartitioned reads an upstream without partitions, but the upstream "
                f"declares {up!r}; use All, Last or Window instead"
            )


@dataclass(frozen=True, slots=True)
class All(PartitionMapping):
    """Every upstream partition, as a lazy dict partition → value (read on access)."""

    single = False

    def upstream(self, partition: Partition, upstream_set: PartitionSet | None) -> Iterable[Partition]:
        assert upstream_set is not None
        return upstream_set

    def check(self, where: str, down: PartitionSet | None, up: PartitionSet | None) -> None:
        if up is None:
            raise DefinitionError(f"{where}: All needs the upstream's partition set, and it {_NO_SET}")


@dataclass(frozen=True, slots=True)
class Last(PartitionMapping):
    """The one value of the upstream's latest partition (up to now for an open-ended set)."""

    def upstream(self, partition: Partition, upstream_set: PartitionSet | None) -> Iterable[Partition]:
        assert upstream_set is not None
        if isinstance(upstream_set, TimeSet):
            bound = upstream_set._bound()
            return (upstream_set._at(bound),) if bound >= upstream_set._first else ()
        members = list(upstream_set) if not isinstance(upstream_set, Static) else upstream_set.values
        return members[-1:]

    def check(self, where: str, down: PartitionSet | None, up: PartitionSet | None) -> None:
        if up is None:
            raise DefinitionError(f"{where}: Last needs the upstream's partition set, and it {_NO_SET}")


@dataclass(frozen=True, slots=True)
class Window(PartitionMapping):
    """The upstream partitions from ``start`` to ``end`` steps of this one, both included.

    ``Window(start=-6, end=0)`` on days is the last 7 days, this one included; steps
    outside the upstream set (before its first day) are left out, so day 1 of the set
    reads one day. The asset receives a dict partition → value, oldest first.
    """

    start: int
    end: int = 0
    single = False

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise DefinitionError(f"Window {name} must be an int number of steps, got {value!r}")
        if self.end < self.start:
            raise DefinitionError(f"Window(start={self.start}, end={self.end}) ends before it starts")

    def upstream(self, partition: Partition, upstream_set: PartitionSet | None) -> Iterable[Partition]:
        assert isinstance(upstream_set, TimeSet)
        position = upstream_set._position(partition)
        if position is None:
            return ()
        # The steps clipped to the set's bounds: its members, each made once (no membership test).
        first = max(position + self.start, upstream_set._first)
        last = (
            position + self.end
            if upstream_set._last is None
            else min(position + self.end, upstream_set._last)
        )
        at = upstream_set._at
        return [at(p) for p in range(first, last + 1)]

    def check(self, where: str, down: PartitionSet | None, up: PartitionSet | None) -> None:
        if not isinstance(down, TimeSet) or not isinstance(up, TimeSet) or type(down) is not type(up):
            raise DefinitionError(
                f"{where}: Window maps time sets of one kind onto each other (Daily to Daily, "
                f"Hourly to Hourly), not {down!r} onto {up!r}"
            )


@dataclass(frozen=True, slots=True)
class Custom(PartitionMapping):
    """A function ``downstream partition -> iterable of upstream partitions``."""

    fn: Callable[[Any], Iterable[Partition]]
    single = False

    def upstream(self, partition: Partition, upstream_set: PartitionSet | None) -> Iterable[Partition]:
        found = list(self.fn(partition))
        if upstream_set is not None:
            for value in found:
                upstream_set.check(value, f"mapping {getattr(self.fn, '__name__', self.fn)!r}: ")
        else:
            for value in found:
                validate(value)
        return found


def mapping_of(value: object, where: str) -> PartitionMapping:
    """A ``deps=`` value as a mapping: a mapping object, or a function wrapped in Custom."""
    if isinstance(value, PartitionMapping):
        return value
    if callable(value):
        return Custom(value)
    raise DefinitionError(
        f"{where}: a deps= value must be a partition mapping (fs.Identity(), "
        f"Unpartitioned(), All(), Window(start, end), Last()) or a function, got {value!r}"
    )


def default_mapping(down: PartitionSet | None, up: PartitionSet | None) -> PartitionMapping:
    """Unpartitioned when only the downstream declares a set, Identity otherwise."""
    if down is not None and up is None:
        return Unpartitioned()
    return Identity()


class _MappedOptions(Protocol):
    """What ``resolve_mappings`` reads of an asset's options (``fs.AssetOptions``)."""

    @property
    def deps(self) -> Mapping[str, Any] | None: ...
    @property
    def partitions(self) -> PartitionSet | None: ...


class MappedAsset(Protocol):
    """What ``resolve_mappings`` reads of an asset (``AssetDef``, which sits above this module)."""

    @property
    def deps(self) -> tuple[str, ...]: ...
    @property
    def options(self) -> _MappedOptions: ...


def resolve_mappings(
    pipeline: str, assets: Mapping[str, MappedAsset]
) -> dict[str, dict[str, PartitionMapping]]:
    """Asset → dependency → mapping, for the dependencies not read partition for partition.

    Each mapping (given in ``deps=`` or the default) is checked against the two sets.

    Raises:
        DefinitionError: a mapping that does not fit, naming the asset and dependency.
    """
    mapped: dict[str, dict[str, PartitionMapping]] = {}
    for name, asset in assets.items():
        given = asset.options.deps or {}
        down = asset.options.partitions
        for dep in asset.deps:
            up = assets[dep].options.partitions
            where = f"pipeline {pipeline!r}, asset {name!r}, dependency {dep!r}"
            mapping = mapping_of(given[dep], where) if dep in given else default_mapping(down, up)
            mapping.check(where, down, up)
            if not isinstance(mapping, Identity):
                mapped.setdefault(name, {})[dep] = mapping
    return mapped
