"""Keys grouped into batches (``fs.Batch``): pure functions, property-tested.

Greedy: a batch takes items in order until the next would exceed ``max_items`` or
``max_bytes``; an item bigger than ``max_bytes`` goes alone. With ``group_by`` a batch
holds the items of one group only (each group fills its own batches; a batch is emitted
when full and the partial ones at the end, in the order their groups first appeared), so
only one open batch per group is held in memory, never the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flowstone._scatter.options import Batch

__all__ = ["BatchInfo", "batches"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """What ``ctx.batch`` says about the batch an asset runs on.

    Attributes:
        index: the batch's 0-based position among the scatter's batches.
        items: the keys in the batch, in order.
        count: how many batches the scatter has, when known (None while keys are still read).
    """

    index: int
    items: tuple[Any, ...]
    count: int | None = None

    def __len__(self) -> int:
        return len(self.items)


@dataclass(slots=True)
class _Open(Generic[T]):
    items: list[T] = field(default_factory=list)
    size: int = 0


def batches(
    items: Iterable[T], batch: Batch, size: Callable[[T], int], value: Callable[[T], Any] | None = None
) -> Iterator[list[T]]:
    """``items`` in batches as ``batch`` says; ``size(item)`` is its size in bytes when
    ``batch.max_bytes`` is set (the caller passes the encoded size unless ``batch.size``),
    and ``group_by`` is given ``value(item)`` (the item itself by default)."""
    cap = batch.max_items
    if batch.max_items_per_group is not None:
        cap = min(cap, batch.max_items_per_group)
    limit = batch.max_bytes
    group_by = batch.group_by
    open_batches: dict[Any, _Open[T]] = {}
    for item in items:
        group = None if group_by is None else group_by(item if value is None else value(item))
        current = open_batches.get(group)
        if current is None:
            current = open_batches[group] = _Open()
        weight = size(item) if limit is not None else 0
        if limit is not None and weight > limit:
            # An oversize item goes alone; the group's open batch stays open for the rest.
            yield [item]
            continue
        if current.items and (
            len(current.items) >= cap or (limit is not None and current.size + weight > limit)
        ):
            yield current.items
            current.items, current.size = [], 0
        current.items.append(item)
        current.size += weight
        if len(current.items) >= cap and limit is None:
            yield current.items
            current.items, current.size = [], 0
    for current in open_batches.values():
        if current.items:
            yield current.items
