"""A backfill's partitions that wait on something they end by themselves are waited for.

A gate or an approval waits for somebody: its partition is reported ``waiting`` and the
backfill returns. A parallel asset's join or a scatter's barrier is resolved by work the
run itself started (its branches, its keys): a backfill that returned ``waiting`` for it
would report work as unfinished that finishes a moment later. Those partitions are held
back, and reported once their run has ended (or the backfill's ``timeout`` has passed:
then they stay ``waiting``), after every other partition was started.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flowstone._waits.api import await_run
from flowstone._waits.kinds import RESUMPTIONS
from flowstone.errors import MaterializationError

if TYPE_CHECKING:
    from flowstone._execution.backfill import PartitionResult
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline
    from flowstone._waits.runtime import Waits

__all__ = ["settle_waiting"]


def settle_waiting(
    results: Iterator[PartitionResult],
    waits: Waits,
    services: Services,
    pipeline: Pipeline,
    asset: str,
    timeout: float,
) -> Iterator[PartitionResult]:
    """``results``, with the partitions whose waits end by themselves reported when they end."""
    held: list[PartitionResult] = []
    for result in results:
        if result.status == "waiting" and result.run_id and _ends_by_itself(waits, result.run_id):
            held.append(result)
        else:
            yield result
    deadline = time.monotonic() + timeout
    for result in held:
        yield _ended(result, waits, services, pipeline, asset, max(0.0, deadline - time.monotonic()))


def _ends_by_itself(waits: Waits, run_id: str) -> bool:
    records = [r for r in waits.store.select(run_id=run_id) if r.kind in RESUMPTIONS]
    return bool(records) and all(getattr(RESUMPTIONS[r.kind], "ends_by_itself", False) for r in records)


def _ended(
    result: PartitionResult,
    waits: Waits,
    services: Services,
    pipeline: Pipeline,
    asset: str,
    timeout: float,
) -> PartitionResult:
    assert result.run_id is not None
    try:
        await_run(waits, services, pipeline, asset, result.partition, result.run_id, timeout)
    except TimeoutError:
        return result
    except MaterializationError as exc:
        return dataclasses.replace(result, status="failed", error=exc)
    return dataclasses.replace(result, status="succeeded")
