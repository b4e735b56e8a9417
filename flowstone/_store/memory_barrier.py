"""``MemoryBarrier``: the scatter barrier of a node without a database, behind one lock."""

from __future__ import annotations

import bisect
import math
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from flowstone._store.barrier import PAGE, HeadState, NewUnit, Progress, ScatterHead, Unit

__all__ = ["MemoryBarrier", "rate_allows"]


def rate_allows(
    next_start_at: float, now: float, interval: float, burst: int, wanted: int
) -> tuple[int, float]:
    """How many starts a rate allows now, and the next start time after them (pure)."""
    base = max(next_start_at, now - (burst - 1) * interval)
    if base > now:
        return 0, next_start_at
    allowed = min(wanted, math.floor((now - base) / interval) + 1)
    return allowed, base + allowed * interval


@dataclass(slots=True)
class _Unit:
    key: bytes
    state: str = "pending"
    attempts: int = 0
    holder: str | None = None
    lease_until: float = 0.0
    result: bytes | None = None
    error: str | None = None


@dataclass(slots=True)
class _Scatter:
    head: ScatterHead
    units: dict[int, _Unit] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # the positions, ascending
    digests: set[bytes] = field(default_factory=set)
    pending: deque[int] = field(default_factory=deque)
    running: dict[int, _Unit] = field(default_factory=dict)
    done: int = 0
    failed: int = 0


class MemoryBarrier:
    """Scatters in dictionaries; what a database does with a transaction, a lock does here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scatters: dict[tuple[str, str], _Scatter] = {}

    def begin(
        self, pipeline: str, run_id: str, asset: str, partition_key: str, pipeline_ref: str | None = None
    ) -> ScatterHead:
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            if scatter is None:
                head = ScatterHead(
                    pipeline, run_id, asset, partition_key, "open", None, 0, False, None, 0.0, pipeline_ref
                )
                scatter = self._scatters[(run_id, asset)] = _Scatter(head)
            return scatter.head

    def head(self, run_id: str, asset: str) -> ScatterHead | None:
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            return None if scatter is None else scatter.head

    def helpable(self, limit: int) -> list[ScatterHead]:
        with self._lock:
            heads = [s.head for s in self._scatters.values()]
        return [h for h in heads if h.state == "open" and h.expanded and h.pipeline_ref][:limit]

    def find_open(self, pipeline: str, asset: str, partition_key: str) -> ScatterHead | None:
        with self._lock:
            for scatter in self._scatters.values():
                head = scatter.head
                if (head.pipeline, head.asset, head.partition_key, head.state) == (
                    pipeline,
                    asset,
                    partition_key,
                    "open",
                ):
                    return head
            return None

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
        with self._lock:
            scatter = self._scatters[(run_id, asset)]
            new = 0
            for unit in units:
                if unit.digest in scatter.digests or unit.position in scatter.units:
                    continue
                scatter.digests.add(unit.digest)
                scatter.units[unit.position] = _Unit(unit.key)
                if scatter.order and unit.position < scatter.order[-1]:
                    bisect.insort(scatter.order, unit.position)
                else:
                    scatter.order.append(unit.position)
                scatter.pending.append(unit.position)
                new += 1
            if expanded and total is None:
                total = len(scatter.units)
            scatter.head = replace(
                scatter.head,
                cursor=cursor,
                next_position=next_position,
                expanded=expanded,
                total=total if total is not None else scatter.head.total,
            )
            if expanded:
                scatter.digests = set()  # only needed while keys are still written
            return new

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
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            if scatter is None or scatter.head.state != "open":
                return []
            for position, unit in list(scatter.running.items()):
                if unit.lease_until < now:  # its holder is gone: the unit is pending again
                    del scatter.running[position]
                    unit.state, unit.holder = "pending", None
                    scatter.pending.appendleft(position)
            wanted = limit
            if max_running is not None:
                wanted = min(wanted, max_running - len(scatter.running))
            wanted = min(wanted, len(scatter.pending))
            if interval is not None and wanted > 0:
                wanted, next_start = rate_allows(scatter.head.next_start_at, now, interval, burst, wanted)
                scatter.head = replace(scatter.head, next_start_at=next_start)
            claimed: list[Unit] = []
            while len(claimed) < wanted:
                position = scatter.pending.popleft()
                unit = scatter.units[position]
                unit.state, unit.holder, unit.lease_until = "running", holder, lease_until
                unit.attempts += 1
                scatter.running[position] = unit
                claimed.append(Unit(position, unit.key, unit.attempts))
            if len(scatter.pending) > 1 and claimed:
                # Reclaimed units went to the front; keep the rest in position order.
                scatter.pending = deque(sorted(scatter.pending))
            return claimed

    def renew(
        self, run_id: str, asset: str, holder: str, positions: Sequence[int], lease_until: float
    ) -> int:
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            renewed = 0
            for position in positions:
                unit = None if scatter is None else scatter.running.get(position)
                if unit is not None and unit.holder == holder:
                    unit.lease_until = lease_until
                    renewed += 1
            return renewed

    def _end(self, run_id: str, asset: str, position: int, holder: str) -> tuple[_Scatter, _Unit] | None:
        scatter = self._scatters.get((run_id, asset))
        unit = None if scatter is None else scatter.running.get(position)
        if scatter is None or unit is None or unit.holder != holder:
            return None
        del scatter.running[position]
        unit.holder = None
        return scatter, unit

    def complete(
        self, run_id: str, asset: str, position: int, holder: str, result: bytes, now: float
    ) -> bool:
        with self._lock:
            ended = self._end(run_id, asset, position, holder)
            if ended is None:
                return False
            scatter, unit = ended
            unit.state, unit.result = "done", result
            scatter.done += 1
            return True

    def fail(self, run_id: str, asset: str, position: int, holder: str, error: str, now: float) -> bool:
        with self._lock:
            ended = self._end(run_id, asset, position, holder)
            if ended is None:
                return False
            scatter, unit = ended
            unit.state, unit.error = "failed", error
            scatter.failed += 1
            return True

    def finish_units(
        self,
        run_id: str,
        asset: str,
        holder: str,
        done: Sequence[tuple[int, bytes]],
        failed: Sequence[tuple[int, str]],
        now: float,
    ) -> set[int]:
        applied = {p for p, result in done if self.complete(run_id, asset, p, holder, result, now)}
        applied.update(p for p, error in failed if self.fail(run_id, asset, p, holder, error, now))
        return applied

    def release(self, run_id: str, asset: str, holder: str) -> int:
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            if scatter is None:
                return 0
            mine = [p for p, unit in scatter.running.items() if unit.holder == holder]
            for position in mine:
                unit = scatter.running.pop(position)
                unit.state, unit.holder = "pending", None
                unit.attempts -= 1  # given back unrun: no attempt used
            scatter.pending = deque(sorted([*scatter.pending, *mine]))
            return len(mine)

    def progress(self, run_id: str, asset: str) -> Progress | None:
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            if scatter is None:
                return None
            head = scatter.head
            return Progress(head.total, scatter.done, scatter.failed, len(scatter.running), head.state)

    def _page(self, run_id: str, asset: str, state: str, after: int, page: int) -> list[tuple[int, _Unit]]:
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            if scatter is None:
                return []
            rows: list[tuple[int, _Unit]] = []
            order = scatter.order
            for index in range(bisect.bisect_right(order, after), len(order)):
                unit = scatter.units[order[index]]
                if unit.state == state:
                    rows.append((order[index], unit))
                    if len(rows) == page:
                        break
            return rows

    def results(self, run_id: str, asset: str, page: int = PAGE) -> Iterator[tuple[int, bytes, bytes]]:
        after = -1
        while rows := self._page(run_id, asset, "done", after, page):
            for position, unit in rows:
                assert unit.result is not None
                yield position, unit.key, unit.result
            after = rows[-1][0]

    def failures(self, run_id: str, asset: str, page: int = PAGE) -> Iterator[tuple[int, bytes, str]]:
        after = -1
        while rows := self._page(run_id, asset, "failed", after, page):
            for position, unit in rows:
                yield position, unit.key, unit.error or ""
            after = rows[-1][0]

    def finish(self, run_id: str, asset: str, *, from_states: Sequence[HeadState], to: HeadState) -> bool:
        with self._lock:
            scatter = self._scatters.get((run_id, asset))
            if scatter is None or scatter.head.state not in from_states:
                return False
            scatter.head = replace(scatter.head, state=to)
            return True

    def discard(self, run_id: str, asset: str) -> int:
        with self._lock:
            scatter = self._scatters.pop((run_id, asset), None)
            return 0 if scatter is None else len(scatter.units)
