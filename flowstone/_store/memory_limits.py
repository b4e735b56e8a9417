"""``MemoryLimits``: the limiter of a node without a database, behind one lock (in-process)."""

from __future__ import annotations

import threading

from flowstone._store.memory_barrier import rate_allows

__all__ = ["MemoryLimits"]


class MemoryLimits:
    """Rates as the next free start per key; slots as holder → lease expiry per key."""

    shared = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._slots: dict[str, dict[str, tuple[str, float]]] = {}

    def reserve_start(self, key: str, interval: float, now: float) -> float:
        with self._lock:
            at = max(self._next.get(key, 0.0), now)
            # The scatter barrier's rate (burst 1), asked at the reserved time: one start.
            _, self._next[key] = rate_allows(at, at, interval, 1, 1)
            return at

    def take_slot(self, key: str, n: int, holder: str, node: str, now: float, lease_until: float) -> float:
        with self._lock:
            held = self._slots.setdefault(key, {})
            for other in [h for h, (_, until) in held.items() if until < now]:
                del held[other]  # expired: its holder stopped renewing
            if holder in held or len(held) < n:
                held[holder] = (node, lease_until)
                return 0.0
            return max(min(until for _, until in held.values()) - now, 0.0)

    def release_slot(self, key: str, holder: str) -> None:
        with self._lock:
            held = self._slots.get(key)
            if held is not None:
                held.pop(holder, None)
                if not held:
                    del self._slots[key]

    def renew_slots(self, node: str, lease_until: float) -> int:
        with self._lock:
            renewed = 0
            for held in self._slots.values():
                for holder, (owner, _) in held.items():
                    if owner == node:
                        held[holder] = (owner, lease_until)
                        renewed += 1
            return renewed
