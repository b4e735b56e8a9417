"""Shared runs: concurrent ``node.run`` calls of one target share one materialization.

A burst of identical requests should compute a chain once, not once per request. The
table of runs in flight is mutable runtime state, so it lives in one actor, the registry
(``Flights``), which also registers the pipeline in the same message: a run is therefore
always registered before any record of it exists, and a collected pipeline's release
(``RegistryActor``) can never land in the middle of a live pipeline's run.

A caller either *leads* a run or *joins* the one in flight and waits on its ``Flight``.
The leader sets the flight's outcome itself, in a ``finally``, so a joined caller never
waits for a run nobody drives, even if the registry restarts meanwhile. Keys carry the
pipeline's generation, not only its name: the run of a reloaded pipeline never hands out
the result of the old code.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError

from flowstone import partitions
from flowstone._ids import new_id
from flowstone.errors import FlowStoneError, MaterializationError
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["Flight", "Flights", "Join", "Landed", "Ticket", "run_shared"]

log = get_logger("flowstone")

#: (pipeline name, generation, asset, partition key)
FlightKey = tuple[str, int, str, str]

_PENDING = object()


class Flight:
    """The outcome of one run, for the callers that joined it; set once, by its leader."""

    __slots__ = ("_done", "_error", "_value", "key", "run_id")

    def __init__(self, key: FlightKey, run_id: str) -> None:
        self.key = key
        self.run_id = run_id
        self._done = threading.Event()
        self._value: Any = _PENDING
        self._error: BaseException | None = None

    def land(self, value: Any) -> None:
        self._value = value
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def wait(self, timeout: float | None, partition: partitions.Partition) -> Any:
        """The leader's value; its error raised; ``MaterializationError`` after ``timeout``."""
        if not self._done.wait(timeout):
            name, _, asset, _ = self.key
            where = "" if partition is None else f", partition {partitions.describe(partition)!r}"
            cause = TimeoutError(f"the run it joined (run {self.run_id}) was still going after {timeout} s")
            raise MaterializationError(
                f"asset {asset!r}{where} (pipeline {name!r}) did not finish within {timeout} s: this "
                f"call joined run {self.run_id}, already in flight; wait longer (timeout=...), or "
                "pass force=True for a run of its own",
                asset=asset,
                partition=partition,
                run_id=self.run_id,
            ) from cause
        if self._error is not None:
            raise self._error
        return self._value


@dataclass(frozen=True, slots=True)
class Join:
    """Register the pipeline behind ``ref`` and join the run of its target in flight, or
    lead a new one (``force`` always leads one of its own)."""

    name: str
    ref: weakref.ReferenceType[Pipeline]
    asset: str
    partition_key: str
    force: bool


@dataclass(frozen=True, slots=True)
class Landed:
    """Run ``run_id`` ended: later callers start (or reuse) a run of their own.

    It names the flight rather than carrying it: pykka keeps an actor's last message
    alive, and a flight holds a value, or an error whose traceback holds the pipeline.
    """

    key: FlightKey
    run_id: str


@dataclass(frozen=True, slots=True)
class Ticket:
    flight: Flight
    leads: bool


class Flights:
    """The runs in flight of one node, by key; owned by the registry actor."""

    def __init__(self) -> None:
        self._flights: dict[FlightKey, Flight] = {}

    def __len__(self) -> int:
        return len(self._flights)

    def join(self, key: FlightKey, *, force: bool) -> Ticket:
        current = self._flights.get(key)
        if current is not None and not force:
            return Ticket(current, leads=False)
        flight = Flight(key, new_id())
        if current is None:  # a forced run beside one in flight leaves that one to join
            self._flights[key] = flight
        return Ticket(flight, leads=True)

    def landed(self, key: FlightKey, run_id: str) -> None:
        current = self._flights.get(key)
        if current is not None and current.run_id == run_id:
            del self._flights[key]


def run_shared(
    registry: Any,
    pipeline: Pipeline,
    asset: str,
    partition: partitions.Partition,
    *,
    force: bool,
    timeout: float | None,
    run: Callable[[str], Any],
) -> Any:
    """``run(run_id)``'s value, or that of the same run already in flight.

    ``registry`` is the node's registry actor (None while it restarts: the call then runs
    alone, unshared).
    """
    key = partitions.serialize(partition)
    ticket: Ticket | None = None
    if registry is not None:
        with contextlib.suppress(ActorDeadError):
            ticket = registry.ask(Join(pipeline.name, weakref.ref(pipeline), asset, key, force))
    if ticket is None:
        return run(new_id())
    flight = ticket.flight
    if not ticket.leads:
        return flight.wait(timeout, partition)
    try:
        value = run(flight.run_id)
    except Exception as exc:
        flight.fail(exc)
        raise
    except BaseException as exc:
        flight.fail(
            FlowStoneError(
                f"asset {asset!r} (pipeline {pipeline.name!r}): the run this call joined (run "
                f"{flight.run_id}) was interrupted by {type(exc).__name__}; run it again"
            )
        )
        raise
    else:
        flight.land(value)
        return value
    finally:
        with contextlib.suppress(ActorDeadError):
            registry.tell(Landed(flight.key, flight.run_id))
