"""One key (or batch) of a scatter: the asset's function called on it, with the asset's
retry and timeout, its result encoded into the barrier. The scatter's user-code boundary:
whatever the function raises fails only its own key."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flowstone import codec
from flowstone._asset import AssetDef
from flowstone._context import Context
from flowstone._retry import Retry
from flowstone._scatter.batching import BatchInfo
from flowstone._store.barrier import ScatterBarrier, Unit
from flowstone.events import EventBus, ScatterKeyDone, ScatterKeyFailed
from flowstone.partitions import Partition

__all__ = ["Ended", "UnitWork", "record", "run_unit"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitWork:
    """What every unit of one scatter shares."""

    barrier: ScatterBarrier
    pipeline: str
    asset: AssetDef
    run_id: str
    partition: Partition
    deps: Mapping[str, Any]
    retry: Retry
    holder: str
    events: EventBus
    log: Any
    resources: Mapping[str, Any]
    batched: bool
    total: int | None
    stopping: threading.Event
    clock: Callable[[], float]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _call(work: UnitWork, ctx: Context) -> Any:
    fn = work.asset.fn
    timeout = work.asset.options.timeout
    if timeout is None:
        return fn(ctx, **work.deps)
    # As an asset's own timeout: the function is not stopped, its thread is abandoned
    # (daemon) and its late result ignored (docs/operations.md).
    box: list[Any] = []

    def target() -> None:
        try:
            box.append((True, fn(ctx, **work.deps)))
        except BaseException as exc:  # noqa: BLE001 - carried to the caller
            box.append((False, exc))

    thread = threading.Thread(target=target, name=f"scatter-{work.asset.name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        raise TimeoutError(f"attempt timed out after {timeout} s (AssetOptions.timeout)")
    ok, value = box[0]
    if not ok:
        raise value
    return value


@dataclass(frozen=True, slots=True)
class Ended:
    """How a unit's run ended, to be recorded with others in one transaction.

    ``ok`` None: it did not run (the scatter is stopping), and goes back unrun.
    """

    position: int
    key: Any
    ok: bool | None
    payload: bytes | str = b""  # the encoded value, or the error text
    attempts: int = 0


def run_unit(work: UnitWork, unit: Unit) -> Ended:
    """Run one claimed unit with its retries; never raises for the asset."""
    if work.stopping.is_set():
        return Ended(unit.position, None, None)  # cancelled before it started
    key = codec.decode(unit.key)
    batch = BatchInfo(unit.position, tuple(key), work.total) if work.batched else None
    error: BaseException | None = None
    for attempt in range(1, work.retry.max_attempts + 1):
        if attempt > 1 and work.stopping.wait(work.retry.delay(attempt - 1)):
            return Ended(unit.position, key, None)  # stopping: back unrun
        ctx = Context(
            work.run_id,
            work.asset.name,
            work.partition,
            attempt,
            work.pipeline,
            work.log,
            work.resources,
            scatter_key=None if work.batched else key,
            batch=batch,
        )
        try:
            return Ended(unit.position, key, True, codec.encode(_call(work, ctx)), attempt)
        except BaseException as exc:  # noqa: BLE001 - the scatter's user-code boundary
            error = exc
            work.log.warning(
                "scatter.key_attempt_failed", position=unit.position, attempt=attempt, error=_describe(exc)
            )
    assert error is not None
    return Ended(unit.position, key, False, _describe(error), work.retry.max_attempts)


def record(work: UnitWork, ended: list[Ended]) -> None:
    """Record finished units in one transaction, then emit their events."""
    done = [(e.position, e.payload) for e in ended if e.ok]
    failed = [(e.position, e.payload) for e in ended if e.ok is False]
    if not done and not failed:
        return
    applied = work.barrier.finish_units(
        work.run_id,
        work.asset.name,
        work.holder,
        [(p, bytes(v)) for p, v in done],  # type: ignore[arg-type]
        [(p, str(v)) for p, v in failed],
        work.clock(),
    )
    for e in ended:
        if e.ok is None or e.position not in applied:
            continue  # not run, or its lease was lost (another worker has the key now)
        if e.ok:
            if work.events.active:
                work.events.emit(
                    ScatterKeyDone(work.pipeline, work.asset.name, work.run_id, e.position, e.key, e.attempts)
                )
            continue
        work.log.error("scatter.key_failed", position=e.position, error=e.payload)
        if work.events.active:
            work.events.emit(
                ScatterKeyFailed(
                    work.pipeline, work.asset.name, work.run_id, e.position, e.key, e.attempts, str(e.payload)
                )
            )
