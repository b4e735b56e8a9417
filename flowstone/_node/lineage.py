"""The lineage actor: records which values each materialization consumed, and says so
loudly when it cannot."""

from __future__ import annotations

import contextlib
import queue
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import supervisors
from flowstone import partitions
from flowstone.errors import LineageError
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._store import LineageStore

__all__ = ["LineageAPI", "LineageActor", "LineageFailure", "LineageRef", "RecordLineage"]

log = get_logger("flowstone")

MAX_KEPT_FAILURES = 100
_MAX_BATCH = 500


@dataclass(frozen=True, slots=True)
class LineageRef:
    """One step of a lineage walk: ``depth`` 1 is a direct parent (or child)."""

    asset: str
    partition: partitions.Partition
    depth: int


@dataclass(frozen=True, slots=True)
class LineageFailure:
    """A lineage record that could not be written."""

    at: datetime
    pipeline: str
    run_id: str
    asset: str
    partition: partitions.Partition
    cause: str


@dataclass(frozen=True, slots=True)
class RecordLineage:
    pipeline: str
    run_id: str
    asset: str
    partition_key: str
    upstream: tuple[tuple[str, str], ...]
    raise_on_failure: bool


@dataclass(frozen=True, slots=True)
class _Walk:
    pipeline: str
    asset: str
    partition_key: str
    depth: int | None
    downstream: bool


class LineageActor(supervisors.Actor):
    """Owns lineage writes and walks; counts and keeps the failures it meets."""

    crash_on_ask_error = False  # an error it raises is its answer to the caller

    def __init__(self, store: LineageStore) -> None:
        super().__init__()
        self._store = store
        self._failures: deque[LineageFailure] = deque(maxlen=MAX_KEPT_FAILURES)
        self._failure_count = 0

    def on_stop(self) -> None:
        # A shutdown skips queued messages; lineage told before it must still be written, so
        # a node stopped right after a run loses no record. Other messages go back to be
        # answered "actor stopped" as usual.
        others = []
        while True:
            try:
                envelope = self.actor_inbox.get_nowait()  # type: ignore[attr-defined]
            except queue.Empty:
                break
            if isinstance(envelope.message, RecordLineage):
                with contextlib.suppress(LineageError):
                    self._record(envelope.message)
                if envelope.reply_to is not None:
                    envelope.reply_to.set(None)
            else:
                others.append(envelope)
        for envelope in others:
            self.actor_inbox.put(envelope)

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, RecordLineage) and not message.raise_on_failure:
            self._record_batch(message)
            return None
        if isinstance(message, RecordLineage):
            return self._record(message)
        if isinstance(message, _Walk):
            return self._walk(message)
        if message == "failures":
            return list(self._failures)
        if message == "failure_count":
            return self._failure_count
        if message == "ping":
            return "pong"
        raise TypeError(f"lineage actor got an unexpected message {message!r}")

    def _record_batch(self, first: RecordLineage) -> None:
        """Write ``first`` and the records queued behind it in one transaction.

        Runners tell lineage faster than one transaction each can keep up with; batching
        what has queued keeps lineage current without slowing the runs down. A message
        that is not a record ends the batch and is handled right after it, in order.
        """
        batch = [first]
        held = None
        while len(batch) < _MAX_BATCH:
            try:
                envelope = self.actor_inbox.get_nowait()  # type: ignore[attr-defined]
            except queue.Empty:
                break
            message = envelope.message
            if (
                isinstance(message, RecordLineage)
                and not message.raise_on_failure
                and envelope.reply_to is None
            ):
                batch.append(message)
            else:
                held = envelope
                break
        if not self._write_many(batch):
            for message in batch:  # one by one, so that each failure is counted and reported
                self._record(message)
        if held is not None:
            self._handle_held(held)

    def _write_many(self, batch: list[RecordLineage]) -> bool:
        write_many = getattr(self._store, "record_lineage_many", None)
        if write_many is None or len(batch) == 1:
            return False
        try:
            write_many([(m.pipeline, m.run_id, m.asset, m.partition_key, m.upstream) for m in batch])
        except Exception:  # noqa: BLE001 - the caller retries one by one and reports each failure
            return False
        return True

    def _handle_held(self, envelope: Any) -> None:
        if not isinstance(envelope.message, RecordLineage | _Walk | str):
            self.actor_inbox.put(envelope)  # a stop or wake-up: let the actor loop see it
            return
        try:
            response = self.on_receive(envelope.message)
        except Exception:  # noqa: BLE001 - the asker gets the error, as from a normal ask
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            return
        if envelope.reply_to is not None:
            envelope.reply_to.set(response)

    def _record(self, message: RecordLineage) -> None:
        try:
            self._store.record_lineage(
                message.pipeline,
                message.run_id,
                message.asset,
                message.partition_key,
                message.upstream,
            )
        except Exception as exc:
            self._failure_count += 1
            partition = partitions.deserialize(message.partition_key)
            cause = f"{type(exc).__name__}: {exc}"
            self._failures.append(
                LineageFailure(
                    datetime.now(UTC),
                    message.pipeline,
                    message.run_id,
                    message.asset,
                    partition,
                    cause,
                )
            )
            log.error(
                "lineage.record_failed",
                run_id=message.run_id,
                asset=message.asset,
                partition=message.partition_key,
                cause=cause,
                failures=self._failure_count,
            )
            if message.raise_on_failure:
                raise LineageError(
                    f"asset {message.asset!r}, partition {partitions.describe(partition)!r} (run "
                    f"{message.run_id}): lineage could not be recorded: {cause}; check the store, or set "
                    "lineage_failure='log' to keep materializing while lineage is down",
                    asset=message.asset,
                    partition=partition,
                    run_id=message.run_id,
                ) from exc

    def _walk(self, walk: _Walk) -> list[LineageRef]:
        step = self._store.downstream_of if walk.downstream else self._store.upstream_of
        seen = {(walk.asset, walk.partition_key)}
        frontier = [(walk.asset, walk.partition_key)]
        found: list[LineageRef] = []
        depth = 0
        while frontier and (walk.depth is None or depth < walk.depth):
            depth += 1
            following: list[tuple[str, str]] = []
            for asset, key in frontier:
                for parent in step(walk.pipeline, asset, key):
                    if parent not in seen:
                        seen.add(parent)
                        following.append(parent)
                        found.append(LineageRef(parent[0], partitions.deserialize(parent[1]), depth))
            frontier = following
        return found


class LineageAPI:
    """``node.lineage``: walk recorded lineage and read the failures."""

    def __init__(self, lookup: Any) -> None:
        self._lookup = lookup

    def _ask(self, message: Any) -> Any:
        actor = self._lookup("lineage")
        if actor is None:
            raise LineageError("the lineage actor is not running", asset="", partition=None)
        return actor.ask(message)

    def upstream(
        self,
        pipeline: Any,
        asset: str,
        partition: partitions.Partition = None,
        depth: int | None = None,
    ) -> list[LineageRef]:
        """The values ``asset``/``partition`` was computed from, recursively (depth 1 = direct)."""
        return self._walk(pipeline, asset, partition, depth, downstream=False)

    def downstream(
        self,
        pipeline: Any,
        asset: str,
        partition: partitions.Partition = None,
        depth: int | None = None,
    ) -> list[LineageRef]:
        """The values computed from ``asset``/``partition``, recursively."""
        return self._walk(pipeline, asset, partition, depth, downstream=True)

    def _walk(
        self,
        pipeline: Any,
        asset: str,
        partition: partitions.Partition,
        depth: int | None,
        *,
        downstream: bool,
    ) -> list[LineageRef]:
        name = pipeline if isinstance(pipeline, str) else pipeline.name
        if depth is not None and depth < 1:
            raise ValueError(f"depth must be ≥ 1 or None, got {depth!r}")
        result: list[LineageRef] = self._ask(
            _Walk(name, asset, partitions.serialize(partition), depth, downstream)
        )
        return result

    def failures(self) -> list[LineageFailure]:
        """Lineage records that could not be written (the latest 100); empty when none."""
        result: list[LineageFailure] = self._ask("failures")
        return result
