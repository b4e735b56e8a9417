"""What a node does when its root supervisor gives up (``fs.start(on_give_up=...)``).

The root gives up when its children crash more often than its restart intensity allows
(OTP's ``reached_max_restart_intensity``): it stops everything and exits. Nothing above
it would restart it, so without this the process would keep running with nothing
supervised and a later ``node.run`` would wait for a runner forever. The node instead
says so — health ``down``, a ``NodeGaveUp`` event, an error log with the last exit
reasons — and acts:

- ``"stop"`` (``fs.start``'s default): the node is ended; ``node.is_alive()`` is False
  and a run raises a ``FlowStoneError`` saying why.
- ``"exit"`` (``flowstone worker``'s default): the same, then the process's other nodes
  are stopped cleanly and the process exits with ``GIVE_UP_EXIT_CODE``, so that an
  orchestrator (systemd, Kubernetes) starts a fresh one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import supervisors
from flowstone.events import EventBus, NodeGaveUp
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._execution.pool import IdlePool
    from flowstone._node.lifecycle import NodeLifecycle

__all__ = ["GIVE_UP_EXIT_CODE", "GIVE_UP_MODES", "GiveUpWatch", "check_give_up"]

log = get_logger("flowstone")

GIVE_UP_MODES = ("stop", "exit")
#: The exit status of a process whose node gave up with ``on_give_up="exit"`` (EX_SOFTWARE).
GIVE_UP_EXIT_CODE = 70


def check_give_up(value: object) -> None:
    """``on_give_up`` is ``"stop"`` or ``"exit"``."""
    if not isinstance(value, str):
        raise TypeError(f"on_give_up must be 'stop' or 'exit', got {value!r}")
    if value not in GIVE_UP_MODES:
        raise ValueError(f"on_give_up must be 'stop' or 'exit', got {value!r}")


def _exit_process() -> None:  # pragma: no cover - ends the process (tested in a subprocess)
    from flowstone._node.lifecycle import LIVE  # noqa: PLC0415 - lifecycle imports the node layer

    LIVE.stop_all()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(GIVE_UP_EXIT_CODE)


class GiveUpWatch:
    """Hears the root's give-up report, then acts once the root has ended."""

    def __init__(
        self,
        node_id: str,
        events: EventBus,
        mode: Literal["stop", "exit"],
        exit_process: Callable[[], None] = _exit_process,
    ) -> None:
        self.node_id = node_id
        self.mode = mode
        self.gave_up: supervisors.GaveUp | None = None
        self._events = events
        self._exit_process = exit_process

    def record(self, gave_up: supervisors.GaveUp) -> None:
        """The root's ``on_give_up`` hook (its thread, before it stops its children)."""
        self.gave_up = gave_up

    def describe(self) -> str:
        assert self.gave_up is not None
        return f"the node {self.node_id} is down: {self.gave_up.describe()}"

    def watch(self, root: supervisors.SupervisorRef, lifecycle: NodeLifecycle, pool: IdlePool) -> None:
        """Act when ``root`` ends after having given up (a stop asked for is no give-up)."""

        def on_down(_down: supervisors.Down) -> None:
            if self.gave_up is not None:
                self._act(lifecycle, pool)

        supervisors.monitor(root, on_down)

    def _act(self, lifecycle: NodeLifecycle, pool: IdlePool) -> None:
        from flowstone._node.lifecycle import LIVE  # noqa: PLC0415 - lifecycle imports the node layer

        gave_up = self.gave_up
        assert gave_up is not None
        last_exits = tuple(f"{child}: {reason.describe()}" for child, reason in gave_up.last_exits)
        log.error(
            "node.gave_up",
            node=self.node_id,
            supervisor=gave_up.supervisor,
            child=gave_up.child,
            last_exits=list(last_exits),
            action=self.mode,
        )
        pool.close(f"{self.describe()}; start a new node")
        LIVE.discard(lifecycle)
        self._events.emit(
            NodeGaveUp(
                node=self.node_id,
                supervisor=gave_up.supervisor,
                child=gave_up.child,
                last_exits=last_exits,
                action=self.mode,
            )
        )
        if self.mode == "exit":
            self._exit_process()
