"""``WaitsActor``: the node's child that keeps waits moving without holding any of them.

Every ``wait_tick`` seconds it fires due timeouts (on a database, only while it holds
the jobs' ``pruner`` lease: one node at a time) and offers the resolved waits nobody took to
this node's ``Resumer`` (another process signalled them, or their node is gone). On
PostgreSQL a LISTEN on ``flowstone_waits`` wakes it as soon as a wait is resolved.
It owns the resumer: stopping it stops (and joins) the resume threads.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pykka import ActorDeadError

import supervisors
from flowstone._periodic import Periodic
from flowstone._reconnect import RECONNECT
from flowstone._waits.resume import Resumer
from flowstone._waits.runtime import Waits, now
from flowstone._waits.timeouts import fire_due
from supervisors._log import get_logger

__all__ = ["WaitsActor", "WaitsEnv"]

log = get_logger("flowstone")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A wait was resolved (by PostgreSQL NOTIFY): offer it to the resumer."""

    wait_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitsEnv:
    waits: Waits
    resumer: Resumer
    tick: float
    clock: supervisors.Clock
    lease: Callable[[float], bool] | None = None  # whether this node holds the jobs' ``pruner`` lease
    listen: str | None = None  # a libpq conninfo: LISTEN for resolved waits
    # Whether it fires every due timeout (a node with upkeep, under the lease; a memory
    # node), or only those of its own waits (a database node that only runs or submits).
    everyone: bool = True


class WaitsActor(supervisors.Actor):
    """Fires timeouts and sweeps resolvable waits on a timer; never crashes on an outage."""

    def __init__(self, env: WaitsEnv) -> None:
        super().__init__()
        self._env = env
        self._ticks = Periodic(self, "tick", env.tick, self._handle, env.clock.monotonic)
        self._halt = threading.Event()
        self._listener: threading.Thread | None = None

    def on_start(self) -> None:
        if self._env.listen is not None:
            self._listener = threading.Thread(
                target=self._listen, name="flowstone-waits-listener", daemon=True
            )
            self._listener.start()
        self._schedule()
        self._ticks.wait()

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, *_exc: object) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        self._ticks.cancel()
        self._halt.set()
        if self._listener is not None:
            self._listener.join(timeout=5.0)
        self._env.resumer.stop()

    def on_receive(self, message: Any) -> Any:
        try:
            return self._handle(message)
        finally:
            self._ticks.wait()

    def on_timeout(self) -> None:
        self.on_receive("tick")

    def _handle(self, message: Any) -> Any:
        if message == "tick":
            self._tick()
            self._schedule()
            return None
        if isinstance(message, Resolved):  # NOTIFY named it: offer it without a sweep's query
            self._offer(message.wait_id)
            return None
        if message == "sweep":
            self._sweep()
            return None
        if message == "ping":
            return "pong"
        if message == "health":
            return self._health()
        raise TypeError(f"waits got an unexpected message {message!r}")

    def _tick(self) -> None:
        env = self._env
        try:
            if not env.everyone:
                fire_due(env.waits, only_node=env.waits.node_id)
            elif env.lease is None or env.lease(env.tick * 4):
                fire_due(env.waits)
        except Exception as exc:  # noqa: BLE001 - logged; the next tick tries again
            log.warning("waits.timeouts_failed", error=f"{type(exc).__name__}: {exc}")
        self._sweep()

    def _offer(self, wait_id: str) -> None:
        try:
            record = self._env.waits.store.get(wait_id)
            if record is not None:
                self._env.resumer.offer(record, imports=True)
        except Exception as exc:  # noqa: BLE001 - logged; the next sweep finds it
            log.warning("waits.offer_failed", wait_id=wait_id, error=f"{type(exc).__name__}: {exc}")

    def _sweep(self) -> None:
        try:
            self._env.resumer.sweep()
        except Exception as exc:  # noqa: BLE001 - logged; the next tick tries again
            log.warning("waits.sweep_failed", error=f"{type(exc).__name__}: {exc}")

    def _health(self) -> str:
        """How many waits are open, and how many are overdue: past their timeout by more
        than a few ticks, so that no node fired it (none is up, or none holds the lease)."""
        grace = max(10.0, 4 * self._env.tick)
        waiting, overdue = self._env.waits.store.counts(now() - timedelta(seconds=grace))
        detail = f"{waiting} waiting, {overdue} overdue"
        if overdue:
            raise RuntimeError(f"{detail}: their timeouts have not fired; is a node with upkeep running?")
        return detail

    def _schedule(self) -> None:
        self._ticks.schedule()

    def _listen(self) -> None:
        import psycopg  # noqa: PLC0415 - only PostgreSQL nodes load the driver

        from flowstone._waits.sql import NOTIFY_WAITS  # noqa: PLC0415

        ref = self.actor_ref
        failures = 0  # in a row: the reconnect backoff starts again after a success
        while not self._halt.is_set():
            connection = None
            try:
                connection = psycopg.connect(self._env.listen or "", autocommit=True, connect_timeout=5)
                connection.execute(f"LISTEN {NOTIFY_WAITS}")
                failures = 0
                while not self._halt.is_set():
                    notes = connection.notifies(timeout=0.2)  # bounds the stop latency
                    try:
                        for note in notes:
                            with contextlib.suppress(ActorDeadError):
                                ref.tell(Resolved(note.payload))
                    finally:
                        notes.close()
            except Exception as exc:  # noqa: BLE001 - logged; polling carries on meanwhile
                failures += 1
                delay = RECONNECT.delay(failures)
                log.warning("waits.listener_reconnecting", error=f"{type(exc).__name__}: {exc}", delay=delay)
                self._halt.wait(delay)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()
