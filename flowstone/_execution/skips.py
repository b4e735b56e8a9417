"""Skipping: assets of a run that will not run, and what that does to the rest of it.

An asset is skipped when a kind of asset rules it out (a router that did not select it,
``AssetKind.not_run``). A skip spreads to every planned asset that needs a skipped one,
at any depth, unless the skipped one is among its ``optional`` dependencies: then it
still runs once its other dependencies are ready, and gets None for the skipped one.
``skip`` and ``ruled_out`` are plain functions over a run's state; ``record`` writes
what they found to the store and announces it, and ``apply`` does both for the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from flowstone import partitions
from flowstone._execution.flight import PartitionRun
from flowstone._execution.loading import load_value
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone._routing.options import SKIPPED
from flowstone._store.records import Skip
from flowstone.events import AssetSkipped
from supervisors._log import get_logger

__all__ = ["apply", "record", "ruled_out", "ruled_out_by_stored", "skip"]

log = get_logger("flowstone")


def skip(pipeline: Pipeline, run: PartitionRun, assets: Iterable[str]) -> tuple[list[str], list[str]]:
    """Skip ``assets`` (those ``run`` plans and has not skipped) and what needs them.

    Updates the run's counts: each skipped asset is done with (``remaining``), and a
    dependant that takes a skipped one as optional waits for one dependency fewer. The
    target skipped makes the run's value ``fs.SKIPPED``. Returns the assets skipped
    (dependencies first, as found) and the dependants left waiting for nothing: ready.
    """
    waiting, skipped = run.waiting, run.skipped
    found: list[str] = []
    ready: list[str] = []
    stack = [asset for asset in assets if asset in waiting and asset not in skipped]
    stack.reverse()
    while stack:
        asset = stack.pop()
        if asset in skipped:
            continue
        skipped.add(asset)
        found.append(asset)
        run.remaining -= 1
        run.premarked.discard(asset)
        if asset == run.target:
            run.value = SKIPPED
        for dependant in pipeline.dependants.get(asset, ()):
            if dependant not in waiting or dependant in skipped:
                continue
            if asset in pipeline.get(dependant).options.optional:
                waiting[dependant] -= 1
                if waiting[dependant] == 0:
                    ready.append(dependant)
            else:
                stack.append(dependant)
    return found, [asset for asset in ready if asset not in skipped]


def ruled_out_by_stored(
    pipeline: Pipeline, services: Services, partition: partitions.Partition, plan: Sequence[str]
) -> list[str]:
    """``ruled_out`` with the values stored for ``partition`` (nothing, cheaply, in a
    pipeline whose values never rule anything out)."""
    if not pipeline.rules_out:
        return []
    return ruled_out(pipeline, plan, lambda asset: load_value(services, pipeline, asset, partition))


def apply(
    pipeline: Pipeline, services: Services, run: PartitionRun, assets: Iterable[str]
) -> tuple[list[str], Exception | None]:
    """``skip`` then ``record``: the dependants now ready, and the store's error if it
    could not record the skips (nothing is ready then: the run fails with it)."""
    skipped, ready = skip(pipeline, run, assets)
    if skipped:
        try:
            record(pipeline, services, run, skipped)
        except Exception as exc:  # noqa: BLE001 - returned: the run fails with it, never hangs
            log.error("asset.skip_not_recorded", run_id=run.run_id, assets=skipped, error=str(exc))
            return [], exc
    return ready, None


def record(pipeline: Pipeline, services: Services, run: PartitionRun, skipped: Sequence[str]) -> None:
    """Record ``skipped`` (of ``run``) in the store, in one transaction, then log and
    announce each; the run ends ``skipped`` with its target."""
    services.store.skip(
        Skip(
            pipeline=pipeline.name,
            partition_key=run.partition_key,
            run_id=run.run_id,
            assets=skipped,
            at=datetime.now(UTC),
            actor=services.node_id,
            finishes_run=run.target in skipped and not run.nested,
            tags=run.tags,
        )
    )
    for asset in skipped:
        log.info("asset.skipped", run_id=run.run_id, asset=asset, partition=run.partition_key)
        if services.events.active:
            services.events.emit(
                AssetSkipped(pipeline.name, asset, run.partition, run.run_id, "not selected")
            )


def ruled_out(pipeline: Pipeline, plan: Sequence[str], load: Callable[[str], Any]) -> list[str]:
    """The assets of ``plan`` that a stored value of an asset outside it rules out: a
    router that ran in an earlier run decided for this partition already (``load`` reads
    its stored value)."""
    planned = set(plan)
    deps = pipeline.deps
    values: dict[str, Any] = {}
    ruled: list[str] = []
    for asset in plan:
        for dep in deps[asset]:
            if dep in planned:
                continue
            kind = pipeline.get(dep).kind
            if not kind.rules_out:
                continue
            if dep not in values:
                values[dep] = kind.not_run(pipeline, dep, load(dep))
            if asset in values[dep]:
                ruled.append(asset)
                break
    return ruled
