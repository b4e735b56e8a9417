"""Typed event records for metrics and monitoring.

``fs.events.subscribe(callback)`` receives the events of every node in the process (like
a logging handler); ``node.events.subscribe(callback)`` those of one node. Events are
emitted after the state change they report has been recorded, in the thread that made
it; a callback must be quick, and an exception in one is logged and ignored.

A run recorded after it ends (a backfill's batch, a job's group commit) has nothing
recorded while it runs: its ``MaterializationStarted`` comes when the attempt starts, and
its ``MaterializationFinished`` or ``MaterializationFailed`` once the batch holding it
has been committed, from the thread that committed it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from supervisors._log import get_logger

__all__ = [
    "ApprovalApproved",
    "ApprovalExpired",
    "ApprovalRejected",
    "ApprovalRequested",
    "AssetSkipped",
    "BackfillProgress",
    "Event",
    "EventBus",
    "GateCancelled",
    "GateCreated",
    "GateExpired",
    "GateSignaled",
    "GateSignalled",
    "MaterializationFailed",
    "MaterializationFinished",
    "MaterializationStarted",
    "NodeGaveUp",
    "RetryScheduled",
    "ScatterGathered",
    "ScatterKeyDone",
    "ScatterKeyFailed",
    "ScatterStarted",
    "RouteDecided",
    "ScheduleFired",
    "SensorPollFailed",
    "SensorPolled",
    "Subscription",
    "subscribe",
]

log = get_logger("flowstone.events")


@dataclass(frozen=True, slots=True)
class MaterializationStarted:
    """An attempt at an asset began."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    attempt: int
    tags: Mapping[str, str] = field(default_factory=dict)  # the run's tags (issue 19)


@dataclass(frozen=True, slots=True)
class MaterializationFinished:
    """An asset was materialized and its value stored."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    attempts: int
    duration_ms: float
    tags: Mapping[str, str] = field(default_factory=dict)  # the run's tags (issue 19)


@dataclass(frozen=True, slots=True)
class MaterializationFailed:
    """An asset failed for good (after its last attempt)."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    attempts: int
    error: str
    tags: Mapping[str, str] = field(default_factory=dict)  # the run's tags (issue 19)


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """An attempt failed and another one will start after ``delay`` seconds."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    attempt: int
    delay: float
    error: str


@dataclass(frozen=True, slots=True)
class RouteDecided:
    """A router took ``branch`` (None: no branch) for a run and partition; ``fallback``
    when it raised and its ``fs.Fallback`` branch was taken (``error`` says what it raised)."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    branch: str | None
    fallback: bool
    error: str | None


@dataclass(frozen=True, slots=True)
class AssetSkipped:
    """An asset of a run did not run: no router selected it, or a dependency it needs
    was skipped; nothing is stored for it."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    """A backfill finished one more partition; ``total`` is None for an unsized input."""

    pipeline: str
    asset: str
    done: int
    total: int | None
    failed: int


@dataclass(frozen=True, slots=True)
class ScatterStarted:
    """A scatter asset's keys are written; ``total`` keys (or batches) will run."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    total: int


@dataclass(frozen=True, slots=True)
class ScatterKeyDone:
    """One key (or batch) of a scatter finished; ``key`` is the key (or the batch's items)."""

    pipeline: str
    asset: str
    run_id: str
    position: int
    key: Any
    attempts: int


@dataclass(frozen=True, slots=True)
class ScatterKeyFailed:
    """One key (or batch) of a scatter failed after its retries."""

    pipeline: str
    asset: str
    run_id: str
    position: int
    key: Any
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class ScatterGathered:
    """A scatter's results were gathered into the asset's value."""

    pipeline: str
    asset: str
    partition: Any
    run_id: str
    done: int
    failed: int


@dataclass(frozen=True, slots=True)
class WaitEvent:
    """What every wait event says: which wait, of which materialization."""

    wait_id: str
    pipeline: str
    asset: str
    partition_key: str
    run_id: str
    key: str
    actor: str


class GateCreated(WaitEvent):
    """``ctx.gate`` wrote a gate."""

    __slots__ = ()


class GateSignaled(WaitEvent):
    """A signal was accepted for a gate."""

    __slots__ = ()


GateSignalled = GateSignaled  # the British spelling, as the issue writes it


class GateExpired(WaitEvent):
    """A gate's timeout fired."""

    __slots__ = ()


class GateCancelled(WaitEvent):
    """A gate was cancelled."""

    __slots__ = ()


class ApprovalRequested(WaitEvent):
    """An asset asked for an approval."""

    __slots__ = ()


class ApprovalApproved(WaitEvent):
    """A person approved (``actor`` is who)."""

    __slots__ = ()


class ApprovalRejected(WaitEvent):
    """A person rejected (``actor`` is who)."""

    __slots__ = ()


class ApprovalExpired(WaitEvent):
    """An approval's timeout fired."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class NodeGaveUp:
    """The node's root supervisor reached its restart intensity: the node is down.

    ``last_exits`` are the most recent child exits (``"child: reason"``), oldest first;
    ``action`` is the node's ``on_give_up`` (``"stop"`` or ``"exit"``).
    """

    node: str
    supervisor: str
    child: str
    last_exits: tuple[str, ...]
    action: str


@dataclass(frozen=True, slots=True)
class ScheduleFired:
    """A node claimed ``ticks`` of a schedule (ISO instants) and started or enqueued their runs."""

    schedule: str
    ticks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SensorPolled:
    """A sensor's poll committed its cursor with ``partitions`` triggered."""

    sensor: str
    partitions: int


@dataclass(frozen=True, slots=True)
class SensorPollFailed:
    """A sensor's poll raised (``error``); ``errors`` counts its failed polls so far."""

    sensor: str
    error: str
    errors: int


Event: TypeAlias = (
    MaterializationStarted
    | MaterializationFinished
    | MaterializationFailed
    | RetryScheduled
    | RouteDecided
    | AssetSkipped
    | BackfillProgress
    | ScatterStarted
    | ScatterKeyDone
    | ScatterKeyFailed
    | ScatterGathered
    | WaitEvent
    | NodeGaveUp
    | ScheduleFired
    | SensorPolled
    | SensorPollFailed
)
Callback = Callable[[Event], None]


class Subscription:
    """A handle returned by ``subscribe``; ``cancel()`` stops the deliveries."""

    __slots__ = ("_bus", "callback")

    def __init__(self, bus: EventBus, callback: Callback) -> None:
        self._bus = bus
        self.callback = callback

    def cancel(self) -> None:
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cancel()


class EventBus:
    """Delivers events to subscribers; copy-on-write, so emitting takes no lock."""

    def __init__(self, parent: EventBus | None = None) -> None:
        self._lock = threading.Lock()
        self._subscriptions: tuple[Subscription, ...] = ()
        self._parent = parent

    def subscribe(self, callback: Callback) -> Subscription:
        """Call ``callback(event)`` for every event from now on."""
        subscription = Subscription(self, callback)
        with self._lock:
            self._subscriptions = (*self._subscriptions, subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)

    @property
    def active(self) -> bool:
        """Whether anyone listens here or above: lets emitters skip building events."""
        return bool(self._subscriptions) or (self._parent is not None and self._parent.active)

    def emit(self, event: Event) -> None:
        for subscription in self._subscriptions:
            try:
                subscription.callback(event)
            except Exception:
                log.exception("events.callback_failed", event_type=type(event).__name__)
        if self._parent is not None:
            self._parent.emit(event)


PROCESS_BUS = EventBus()


def subscribe(callback: Callback) -> Subscription:
    """Receive the events of every node in this process."""
    return PROCESS_BUS.subscribe(callback)
