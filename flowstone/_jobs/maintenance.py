"""Node upkeep for the job layer: heartbeats, orphan rescue, pruning, and notifications.

Every node heartbeats into ``flowstone_nodes`` (with its supervision-tree snapshot and its
``rescue_after``) every ``rescue_after / 4`` seconds. A node that keeps up (a worker, or
one started with ``upkeep=True``) also returns, on the same tick, the jobs of nodes whose
heartbeat is late by their own ``rescue_after``, and one such node at a time, holding a
lease, prunes old jobs (and old route decisions, under the ``"keep"`` policy). A node
that has just been cut off from the database (no heartbeat of its own went through for
two periods) gives the others time to check in first: their heartbeats are late for the
same reason as its own.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pykka import ActorDeadError

import supervisors
from flowstone._jobs.table import NOTIFY_CHANNEL, JobTable
from flowstone._reconnect import RECONNECT
from supervisors._log import get_logger

__all__ = ["ListenerActor", "MaintenanceActor", "MaintenanceEnv"]

log = get_logger("flowstone")


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceEnv:
    node_id: str
    name: str
    table: JobTable
    queues: dict[str, int]
    rescue_after: float
    prune_after: float
    clock: supervisors.Clock
    snapshot: Callable[[], str | None]
    upkeep: bool  # rescue and prune, not only heartbeat
    # Deletes what else is kept for a while (routers' decisions past their ttl); how many.
    prune_more: Callable[[], int] = lambda: 0
    renew_slots: Callable[[], int] = lambda: 0  # the node's concurrency slot leases


class MaintenanceActor(supervisors.Actor):
    """Heartbeat, rescue and prune on a timer; never crashes on a database outage.

    Also answers ``"queues"`` (the state of every queue, for ``node.health()``) and
    ``"ping"``.
    """

    def __init__(self, env: MaintenanceEnv) -> None:
        super().__init__()
        self._env = env
        self._timer: supervisors.Cancellable | None = None
        self._interval = max(0.05, env.rescue_after / 4)
        self._contact = 0.0  # when a heartbeat last went through (the clock's time)
        self._back_since: float | None = None  # when it last came back from being cut off

    def on_start(self) -> None:
        self._contact = self._env.clock.monotonic()
        self._tick(snapshot=False)  # the tree is still starting: no snapshot yet

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with contextlib.suppress(Exception):
            self._env.table.forget_node(self._env.node_id)

    def on_failure(self, *_exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def on_receive(self, message: Any) -> Any:
        if message == "tick":
            self._tick(snapshot=True)
            return None
        if message == "queues":
            return self._env.table.queue_states()
        if message == "ping":
            return "pong"
        raise TypeError(f"maintenance got an unexpected message {message!r}")

    def _checked_in(self) -> float | None:
        """After a heartbeat went through: seconds since this node came back from being
        cut off (None if it never was). Silence for two periods or more (refused, or a
        statement that hung) counts as cut off."""
        now = self._env.clock.monotonic()
        silence = now - self._contact
        self._contact = now
        if silence >= 2 * self._interval:
            self._back_since = now
            log.warning("jobs.back_in_touch", silent_for=round(silence, 3), node=self._env.node_id)
        return None if self._back_since is None else now - self._back_since

    def _keep_up(self, back_for: float | None) -> None:
        env = self._env
        rescued = env.table.rescue(env.rescue_after, back_for=back_for)
        if rescued:
            log.warning("jobs.rescued", count=rescued, node=env.node_id)
        if env.table.acquire_lease("pruner", env.node_id, ttl=self._interval * 3):
            pruned = env.table.prune(env.prune_after)
            if pruned:
                log.info("jobs.pruned", count=pruned)
            env.prune_more()

    def _tick(self, *, snapshot: bool) -> None:
        env = self._env
        tree = None
        if snapshot:
            try:  # the snapshot is best effort: a busy tree must never cost a heartbeat
                tree = env.snapshot()
            except Exception as exc:  # noqa: BLE001
                log.info("jobs.snapshot_skipped", error=f"{type(exc).__name__}: {exc}")
        try:
            env.table.heartbeat(
                env.node_id, env.name, socket.gethostname(), os.getpid(), env.queues, tree, env.rescue_after
            )
            back_for = self._checked_in()
            env.renew_slots()
            if env.upkeep:
                self._keep_up(back_for)
        except Exception as exc:  # noqa: BLE001 - logged; the next tick tries again
            log.warning("jobs.maintenance_failed", error=f"{type(exc).__name__}: {exc}")
        ref = self.actor_ref

        def tick() -> None:
            with contextlib.suppress(ActorDeadError):
                ref.tell("tick")

        self._timer = env.clock.call_later(self._interval, tick)


class ListenerActor(supervisors.Actor):
    """PostgreSQL LISTEN on a dedicated connection: wakes idle producers at once.

    A thread owned by this actor blocks on the connection; it re-listens after a
    reconnect. Polling keeps running regardless, so a lost notification only costs
    latency.
    """

    def __init__(self, conninfo: str, wake: Callable[[str], None]) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._wake = wake
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="flowstone-listener", daemon=True)

    def on_start(self) -> None:
        self._thread.start()

    def on_stop(self) -> None:
        self._halt.set()
        self._thread.join(timeout=5.0)

    def on_failure(self, *_exc: object) -> None:
        self.on_stop()

    def _listen(self) -> None:
        import psycopg  # noqa: PLC0415 - only PostgreSQL nodes load the driver

        failures = 0  # in a row: the reconnect backoff starts again after a success
        while not self._halt.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    failures = 0
                    while not self._halt.is_set():
                        for note in connection.notifies(timeout=0.2):  # bounds the stop latency
                            self._wake(note.payload)
            except Exception as exc:  # noqa: BLE001 - logged; the next tick tries again
                failures += 1
                delay = RECONNECT.delay(failures)
                log.warning("jobs.listener_reconnecting", error=f"{type(exc).__name__}: {exc}", delay=delay)
                self._halt.wait(delay)


def libpq_conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (``postgresql+psycopg://...``)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def wake_all(producers: Sequence[Any]) -> None:
    for producer in producers:
        with contextlib.suppress(ActorDeadError):
            producer.tell("wake")
