"""Which scatters this node is running, so that ``node.cancel(run_id)`` can stop them."""

from __future__ import annotations

import threading

__all__ = ["ScatterControl"]


class ScatterControl:
    """Stop events of the scatters running on one node, by run id.

    A registry, not run state: each scatter owns its event; this only finds it. The
    barrier's head (state ``cancelled``) tells the other processes sharing the scatter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, set[threading.Event]] = {}

    def register(self, run_id: str) -> threading.Event:
        stopping = threading.Event()
        with self._lock:
            self._running.setdefault(run_id, set()).add(stopping)
        return stopping

    def unregister(self, run_id: str, stopping: threading.Event) -> None:
        with self._lock:
            events = self._running.get(run_id)
            if events is not None:
                events.discard(stopping)
                if not events:
                    del self._running[run_id]

    def running(self, run_id: str) -> bool:
        """Whether a scatter of that run is running on this node."""
        with self._lock:
            return bool(self._running.get(run_id))

    def cancel(self, run_id: str) -> bool:
        """Stop the run's scatters on this node; whether one was running."""
        with self._lock:
            events = list(self._running.get(run_id, ()))
        for event in events:
            event.set()
        return bool(events)
