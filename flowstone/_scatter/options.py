"""The options of a scatter asset: ``fs.Scatter``, ``fs.Batch`` and ``fs.Rate``.

Option data only, validated when the asset is defined (``DefinitionError`` naming the
option and the fix); what they mean at run time lives in the other ``_scatter`` modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowstone.errors import DefinitionError

__all__ = ["Batch", "Rate", "Scatter"]


def _positive_int(owner: str, name: str, value: object, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DefinitionError(f"{owner}: {name} must be an int > 0, got {value!r}")


def _callable(owner: str, name: str, value: object) -> None:
    if value is not None and not callable(value):
        raise DefinitionError(f"{owner}: {name} must be a function, got {value!r}")


# Not kw_only: the contract writes ``fs.Rate(100, per=1.0)``, the count positional.
@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``limit`` starts per ``per`` seconds for ``key``, across every process on
    the database (in-process on a memory node).

    ``@p.asset(rate=fs.Rate(10, per=1.0, key="crm"))``, a scatter's keys
    (``fs.Scatter(rate=...)``) and ``with ctx.limit(fs.Rate(5, per=1.0, key="api")):``.

    Attributes:
        limit: how many starts each window of ``per`` seconds allows.
        per: the window in seconds.
        key: what the limit is shared by (default: the asset).
    """

    limit: int
    per: float = 1.0
    key: str | None = None

    def __post_init__(self) -> None:
        _positive_int("fs.Rate", "limit", self.limit, optional=False)
        if (
            isinstance(self.per, bool)
            or not isinstance(self.per, int | float)
            or not (math.isfinite(self.per) and self.per > 0)
        ):
            raise DefinitionError(f"fs.Rate: per must be a finite number of seconds > 0, got {self.per!r}")
        # 200 characters, as fs.Slots: the store's limit rows hold a key of that length.
        if self.key is not None and (not isinstance(self.key, str) or not self.key or len(self.key) > 200):
            raise DefinitionError(
                f"fs.Rate: key must be a non-empty string of at most 200 characters or None, got {self.key!r}"
            )

    @property
    def n(self) -> int:
        """How many starts each window allows (the same as ``limit``; the older name)."""
        return self.limit

    @property
    def interval(self) -> float:
        """Seconds between two starts at the full rate."""
        return float(self.per) / self.limit


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Group the keys of a scatter into batches: the asset runs once per batch (``ctx.batch``).

    Attributes:
        max_items: the most keys in one batch.
        max_bytes: the most bytes in one batch, by ``size`` (greedy; an item bigger than
            this goes alone in its batch).
        size: an item's size in bytes; by default its encoded size (``len(fs.codec.encode(item))``).
        group_by: batches hold the items of one group only (``group_by(item)`` equal).
        max_items_per_group: the most items of one group in one batch (needs ``group_by``).
    """

    max_items: int = 100
    max_bytes: int | None = None
    size: Callable[[Any], int] | None = None
    group_by: Callable[[Any], Any] | None = None
    max_items_per_group: int | None = None

    def __post_init__(self) -> None:
        _positive_int("fs.Batch", "max_items", self.max_items, optional=False)
        _positive_int("fs.Batch", "max_bytes", self.max_bytes)
        _positive_int("fs.Batch", "max_items_per_group", self.max_items_per_group)
        _callable("fs.Batch", "size", self.size)
        _callable("fs.Batch", "group_by", self.group_by)
        if self.size is not None and self.max_bytes is None:
            raise DefinitionError("fs.Batch: size is only used with max_bytes; set max_bytes or drop size")
        if self.max_items_per_group is not None and self.group_by is None:
            raise DefinitionError(
                "fs.Batch: max_items_per_group needs group_by (a function of an item giving its group)"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Scatter:
    """Run an asset once per key (or batch of keys) and gather the results into its value.

    Attributes:
        keys: ``keys(ctx, **deps)`` returns the keys (any iterable, consumed lazily).
        reader: a ``flowstone.readers`` reader whose items are the keys (or, with
            ``select``, become them); exactly one of ``keys`` and ``reader``.
        select: ``select(item, **deps)`` turns a reader's item into a key.
        batch: group keys into batches (``fs.Batch``).
        gather: ``gather(ctx, results)`` makes the asset's value from the ``(key, value)``
            pairs in key order; by default the list of values.
        max_concurrent: the most keys running at once, across every worker.
        rate: the most key starts per second, across every worker (``fs.Rate``).
        tolerate: the fraction (0.0-1.0) of keys that may fail after their retries.
        max_key_bytes: the largest encoded key; None for the node's
            ``max_scatter_key_bytes`` (4,096 by default).
    """

    keys: Callable[..., Any] | None = None
    reader: Any = None
    select: Callable[..., Any] | None = None
    batch: Batch | None = None
    gather: Callable[..., Any] | None = None
    max_concurrent: int | None = None
    rate: Rate | None = None
    tolerate: float = 0.0
    max_key_bytes: int | None = None

    def __post_init__(self) -> None:
        if (self.keys is None) == (self.reader is None):
            raise DefinitionError(
                "fs.Scatter: give exactly one of keys= (a function returning the keys) and reader= "
                "(a flowstone.readers reader)"
            )
        _callable("fs.Scatter", "keys", self.keys)
        _callable("fs.Scatter", "select", self.select)
        _callable("fs.Scatter", "gather", self.gather)
        if self.reader is not None and not callable(getattr(self.reader, "read", None)):
            raise DefinitionError(
                "fs.Scatter: reader must have read(cursor, limit) -> (items, next_cursor), "
                f"got {self.reader!r}"
            )
        if self.select is not None and self.reader is None:
            raise DefinitionError("fs.Scatter: select= turns a reader's items into keys; it needs reader=")
        if self.batch is not None and not isinstance(self.batch, Batch):
            raise DefinitionError(f"fs.Scatter: batch must be a flowstone.Batch, got {self.batch!r}")
        if self.rate is not None and not isinstance(self.rate, Rate):
            raise DefinitionError(f"fs.Scatter: rate must be a flowstone.Rate, got {self.rate!r}")
        _positive_int("fs.Scatter", "max_concurrent", self.max_concurrent)
        _positive_int("fs.Scatter", "max_key_bytes", self.max_key_bytes)
        tolerate = self.tolerate
        if isinstance(tolerate, bool) or not isinstance(tolerate, int | float) or not 0.0 <= tolerate <= 1.0:
            raise DefinitionError(
                f"fs.Scatter: tolerate must be a fraction from 0.0 to 1.0, got {tolerate!r}"
            )
