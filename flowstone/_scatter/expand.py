"""Writing a scatter's keys into its barrier, a page at a time, resumably.

Keys from ``keys(ctx, **deps)`` are checked as they come and written in pages; a reader's
pages are written each with the reader's cursor after it, in the same transaction, so a
crash resumes from the last page written. A key that is too big or cannot be encoded
removes what was written (nothing of the barrier is left) and raises ``ScatterKeyError``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flowstone import codec
from flowstone._scatter.batching import batches
from flowstone._scatter.keys import Key, checked_keys, digest
from flowstone._scatter.options import Scatter
from flowstone._store.barrier import NewUnit, ScatterBarrier, ScatterHead
from flowstone.errors import ScatterKeyError

__all__ = ["Expansion", "expand"]

PAGE = 1000


@dataclass(frozen=True, slots=True)
class Expansion:
    """Where the keys go and under which limits."""

    barrier: ScatterBarrier
    run_id: str
    asset: str
    limit: int
    page: int = PAGE


def expand(scatter: Scatter, where: Expansion, head: ScatterHead, ctx: Any, deps: Mapping[str, Any]) -> int:
    """Write every key (or batch) not yet written; the number of units the scatter has."""
    if head.expanded and head.total is not None:
        return head.total
    try:
        if scatter.reader is not None and scatter.batch is None:
            _expand_reader(scatter, where, head, deps)
        else:
            _expand_stream(scatter, where, head, _keys(scatter, ctx, deps))
    except ScatterKeyError:
        where.barrier.discard(where.run_id, where.asset)
        raise
    final = where.barrier.head(where.run_id, where.asset)
    assert final is not None
    assert final.total is not None
    return final.total


def _keys(scatter: Scatter, ctx: Any, deps: Mapping[str, Any]) -> Iterable[Any]:
    if scatter.keys is not None:
        produced: Iterable[Any] = scatter.keys(ctx, **deps)
        return produced
    return _reader_keys(scatter, deps, None)


def _reader_keys(scatter: Scatter, deps: Mapping[str, Any], cursor: Any) -> Iterator[Any]:
    reader = scatter.reader
    while True:
        items, cursor = reader.read(cursor, PAGE)
        for item in items:
            yield scatter.select(item, **deps) if scatter.select is not None else item
        if cursor is None:
            return


def _unit(position: int, encoded: bytes) -> NewUnit:
    return NewUnit(position, digest(encoded), encoded)


def _expand_stream(scatter: Scatter, where: Expansion, head: ScatterHead, keys: Iterable[Any]) -> None:
    """Keys from a function (or a batched reader): a resume writes again from the start
    and the barrier skips what it has (``keys`` must give the same keys each time)."""
    checked: Iterable[Key] = checked_keys(keys, asset=where.asset, limit=where.limit, run_id=where.run_id)
    units: Iterable[NewUnit]
    if scatter.batch is not None:
        grouped = batches(checked, scatter.batch, _sizer(scatter), lambda key: key.value)
        units = (
            _unit(index, codec.encode(tuple(k.value for k in batch))) for index, batch in enumerate(grouped)
        )
    else:
        if head.next_position:  # resuming: the keys before next_position are written
            checked = itertools.islice(checked, head.next_position, None)
        units = (_unit(k.position, k.encoded) for k in checked)
    position = head.next_position
    iterator = iter(units)
    while page := list(itertools.islice(iterator, where.page)):
        position = max(position, page[-1].position + 1)
        where.barrier.add(
            where.run_id, where.asset, page, cursor=None, next_position=position, expanded=False
        )
    where.barrier.add(where.run_id, where.asset, [], cursor=None, next_position=position, expanded=True)


def _sizer(scatter: Scatter) -> Any:
    size = scatter.batch.size if scatter.batch is not None else None
    if size is not None:
        return lambda key: size(key.value)
    return lambda key: len(key.encoded)


def _expand_reader(scatter: Scatter, where: Expansion, head: ScatterHead, deps: Mapping[str, Any]) -> None:
    reader = scatter.reader
    cursor = None if head.cursor is None else codec.decode(head.cursor)
    position = head.next_position
    while True:
        items, following = reader.read(cursor, where.page)
        keys = [scatter.select(item, **deps) if scatter.select is not None else item for item in items]
        page = [
            _unit(k.position, k.encoded)
            for k in checked_keys(
                keys, asset=where.asset, limit=where.limit, run_id=where.run_id, start=position
            )
        ]
        position += len(keys)
        done = following is None
        total = None
        where.barrier.add(
            where.run_id,
            where.asset,
            page,
            cursor=None if done else codec.encode(following),
            next_position=position,
            expanded=done,
            total=total,
        )
        if done:
            return
        cursor = following
