"""The admission step: may this attempt start now under its asset's ``rate=`` and
``concurrency=``? If not, the attempt answers "wait ``wait_in`` seconds" and its runner
is free: the scheduler puts the task back in its retry heap (same attempt number), and
sends it again when due. Nothing waits on a thread.

*Rates* reserve: a task over its rate is given a start time (the key's next free start,
shared through the store) and is sent again at that time, when it starts without asking
again. Starts are spaced ``per / limit`` apart (padded by ``RATE_PAD``), so any window of
``per`` seconds holds at most ``limit`` of them, and waiting tasks never poll.

*Slots* are leases in the store. A task refused a slot registers its scheduler's queue;
a release in this process wakes it at once (``Wake``). A release in another process is
not signalled (SQLite has no notifications), so a waiting task also tries again after
``slot_retry``: never later than the earliest lease's expiry (when a crashed holder's
slot frees), and at most ``lease / 50`` (e.g. 1.2 s at ``rescue_after=60``), which bounds
how long a slot freed elsewhere sits idle while costing one write per waiter per retry.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flowstone._execution.task import Outcome, Reply, Task, Wake
from flowstone._limits import Reserve
from flowstone._store.limits import Limits, rate_key, slot_key
from flowstone._store.memory_limits import MemoryLimits

__all__ = ["RATE_PAD", "Admission", "Wake", "wake_due"]

#: Starts are spaced ``per / limit * (1 + RATE_PAD)`` apart: the pad absorbs the jitter
#: between a start's grant and the asset's first line, so that start times measured in
#: the asset also never hold more than ``limit`` in a window (the rate achieved is ~96%).
RATE_PAD = 0.04
#: A task is sent this long before its reserved start, and waits for it at its first line
#: (holding its runner for at most this long): recording it running takes time.
LEAD = 0.05
#: The share of the pad a start may be late by and still count: the rest absorbs the
#: time from the check to the asset's first line.
SLACK = 0.5
MIN_SLOT_RETRY = 0.02
FORGET_FROM, FORGET_AFTER = 1_000, 300.0  # reservations kept, and how long past before dropped

_Attempt = tuple[str, str, str, int]


def _ident(task: Task) -> _Attempt:
    return (task.run_id, task.asset.name, task.partition_key, task.attempt)


class Admission:
    """A node's admission step: its rate reservations and the slots it holds."""

    def __init__(
        self,
        limits: Limits | None = None,
        node_id: str = "",
        lease: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits: Limits = limits if limits is not None else MemoryLimits()
        self._node = node_id or f"node-{uuid.uuid4().hex[:8]}"
        # A lease nobody renews (no heartbeat without a database) must not expire.
        self._lease = lease if self.limits.shared else math.inf
        self._clock = clock
        self._lock = threading.Lock()
        self._reserved: dict[_Attempt, float] = {}  # starts reserved, not yet due
        self._granted: dict[_Attempt, float] = {}  # the start of each attempt admitted
        self._waiters: dict[str, set[Reply]] = {}
        self._holding = 0

    def slot_retry(self, until_expiry: float) -> float:
        """When a task refused a slot tries again at the latest (see the module docstring)."""
        cap = self._lease / 50 if self.limits.shared else 1.0
        return max(MIN_SLOT_RETRY, min(until_expiry, cap))

    def run(self, task: Task, reply: Reply | None, attempt: Callable[[Task], Outcome]) -> Outcome:
        """``attempt(task)`` once admitted; else an outcome asking to be sent again later."""
        options = task.asset.options
        rate, slots = options.rate, options.concurrency
        if rate is None and slots is None:
            return attempt(task)
        now = self._clock()
        ident = _ident(task)
        holder = ""
        if slots is not None:
            holder = f"{self._node}/{uuid.uuid4().hex[:12]}"
            key = slot_key(slots.key)
            wait = self.limits.take_slot(key, slots.n, holder, self._node, now, now + self._lease)
            if wait > 0:
                with self._lock:
                    self._reserved.pop(ident, None)  # its start passes unused: never late
                    if reply is not None:
                        self._waiters.setdefault(slots.key, set()).add(reply)
                return Outcome(task, ok=False, wait_in=self.slot_retry(wait))
            with self._lock:
                self._holding += 1
        try:
            if rate is not None:
                with self._lock:
                    at = self._reserved.pop(ident, None)
                if at is None:
                    name = rate.key if rate.key is not None else task.asset.name
                    at = self.limits.reserve_start(rate_key(name), _interval(rate.limit, rate.per), now)
                if at - now > LEAD:
                    self._remember(ident, at, now)
                    return Outcome(task, ok=False, wait_in=at - now - LEAD)
                with self._lock:
                    self._granted[ident] = at
            return attempt(task)
        finally:
            if rate is not None:
                with self._lock:
                    self._granted.pop(ident, None)
            if slots is not None:
                self._release(slots.key, holder)

    def start(self, task: Task) -> float | None:
        """At the asset's first line: None to go on, else seconds to wait (sent again).

        An attempt admitted under its rate is sent ``LEAD`` before its reserved start and
        waits here for the rest, so that recording it running (the store's write lock)
        does not make it late. Later than ``SLACK * RATE_PAD`` of a window after its start
        anyway, it takes a new one: a late start would crowd the next ones."""
        rate = task.asset.options.rate
        if rate is None:  # most assets: nothing to look up, no lock taken
            return None
        ident = _ident(task)
        with self._lock:
            at = self._granted.get(ident)
        if at is None:
            return None
        slack = rate.per * RATE_PAD * SLACK
        while True:
            now = self._clock()
            if at > now:  # sent LEAD early, to be on time: the rest of the lead on this thread
                threading.Event().wait(at - now)
                continue  # a busy machine may wake it late: checked again
            if now - at <= slack:
                return None
            name = rate.key if rate.key is not None else task.asset.name
            at = self.limits.reserve_start(rate_key(name), _interval(rate.limit, rate.per), now)
            if at - now > LEAD:
                with self._lock:
                    self._granted.pop(ident, None)
                self._remember(ident, at, now)
                return at - now - LEAD
            with self._lock:
                self._granted[ident] = at

    def _remember(self, ident: _Attempt, at: float, now: float) -> None:
        """Keep a reservation for the attempt's return; those of attempts that never came
        back (their run ended meanwhile) are dropped once well past."""
        with self._lock:
            self._reserved[ident] = at
            if len(self._reserved) > FORGET_FROM:
                for old in [i for i, when in self._reserved.items() if when < now - FORGET_AFTER]:
                    del self._reserved[old]

    def _release(self, key: str, holder: str) -> None:
        self.limits.release_slot(slot_key(key), holder)
        with self._lock:
            self._holding -= 1
            waiters = self._waiters.pop(key, ())
        for reply in waiters:
            reply.put(Wake(key))

    def renew(self) -> int:
        """Extend this node's slot leases (called with each heartbeat); how many."""
        with self._lock:
            if not self._holding:
                return 0
        return self.limits.renew_slots(self._node, self._clock() + self._lease)

    def reserver(self, in_process: Callable[[Reserve], float]) -> Callable[[Reserve], float]:
        """``ctx.limit``'s grants: the store's limiter when it is shared with other
        processes, else ``in_process`` (the resources actor's windows)."""
        return self.reserve if self.limits.shared else in_process

    def reserve(self, request: Reserve) -> float:
        """A ``ctx.limit`` grant from the store's limiter, on the monotonic clock."""
        now = self._clock()
        at = self.limits.reserve_start(rate_key(request.key), _interval(request.limit, request.per), now)
        return time.monotonic() + (at - now)


def _interval(limit: int, per: float) -> float:
    return float(per) / limit * (1 + RATE_PAD)


def wake_due(retries: list[tuple[float, int, Any, str, int]], pipeline: Any, key: str, now: float) -> None:
    """Make the tasks in a scheduler's retry heap that wait for ``key``'s slots due now."""
    changed = False
    for index, (due, seq, run, asset, attempt) in enumerate(retries):
        slots = pipeline.get(asset).options.concurrency if due > now else None
        if slots is not None and slots.key == key:
            retries[index] = (now, seq, run, asset, attempt)
            changed = True
    if changed:
        heapq.heapify(retries)
