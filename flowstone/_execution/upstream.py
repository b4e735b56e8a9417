"""A backfill's missing mapped upstream partitions, run together for a window of readers.

``ensure_upstream`` runs each missing upstream partition as a synchronous run of its own
(``run_target(within=...)``): a store query, a plan and a scheduler per partition, one
after the other. A backfill looks up a window of partitions at once (``_Lookahead``), so
it can do better: :func:`run_window_upstream` asks the store once per upstream asset
which of the partitions the whole window reads are done, then runs all the missing ones
in one scheduler, up to the backfill's ``parallel`` at a time. Each is still part of the
run of the first reader that needs it (``RunStart.nested``, its run id), as before.

Readers whose mapping names a whole partition set (``All``) or more partitions than
``_BATCH`` go the per-partition way, in their turn, so that nothing large is listed and
which reader owns which upstream partition is the same as one reader at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from flowstone import partitions
from flowstone._execution.mapped import ensure_upstream
from flowstone._execution.plan import plan_run
from flowstone._execution.run import within_run
from flowstone._execution.scheduler import PartitionRun, Scheduler
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone.errors import FlowStoneError
from supervisors._log import get_logger

__all__ = ["Reader", "run_window_upstream"]

log = get_logger("flowstone")

_BATCH = 1000  # upstream partitions a reader may name and still be batched


@dataclass(slots=True)
class Reader:
    """A partition of the backfill that runs: what its plan reads through mappings."""

    partition: partitions.Partition
    planned: Sequence[str]
    run_id: str
    error: FlowStoneError | None = None
    # (dep, key, partition) it reads through its mappings, when few enough to batch.
    wants: list[tuple[str, str, Any]] = field(default_factory=list)


def run_window_upstream(
    pipeline: Pipeline,
    readers: Sequence[Reader],
    services: Services,
    seen: set[tuple[str, str]],
    *,
    tags: Mapping[str, str] | None,
    scheduler: Scheduler,
) -> None:
    """Materialize what ``readers`` read through their mappings and is missing; a reader
    whose upstream failed gets that error (``Reader.error``). ``seen`` holds the
    (asset, key) pairs known done, and gains those done now. ``scheduler`` runs them (made
    with ``chunk_nested``, and kept by the backfill so that its chunk size carries over)."""
    batch: list[Reader] = []
    for reader in readers:
        if _listed(pipeline, reader):
            batch.append(reader)
            continue
        _run_batch(pipeline, batch, services, seen, tags, scheduler)
        batch = []
        _one(pipeline, reader, services, seen, tags)
    _run_batch(pipeline, batch, services, seen, tags, scheduler)


def _listed(pipeline: Pipeline, reader: Reader) -> bool:
    """Fill ``reader.wants``; False when a mapping names too many partitions to list."""
    for name in reader.planned:
        for dep, mapping in pipeline.mappings(name).items():
            wanted = mapping.upstream(reader.partition, pipeline.get(dep).options.partitions)
            if isinstance(wanted, partitions.PartitionSet):
                return False
            # At most one past the limit is listed: a long custom mapping is not built whole.
            listed = wanted if isinstance(wanted, (list, tuple)) else list(islice(wanted, _BATCH + 1))
            if len(listed) > _BATCH:
                return False
            reader.wants.extend((dep, partitions.serialize(p), p) for p in listed)
    return True


def _one(
    pipeline: Pipeline,
    reader: Reader,
    services: Services,
    seen: set[tuple[str, str]],
    tags: Mapping[str, str] | None,
) -> None:
    try:
        ensure_upstream(
            pipeline,
            reader.planned,
            reader.partition,
            services,
            seen,
            run_upstream=within_run(reader.run_id, tags),
        )
    except FlowStoneError as exc:
        reader.error = exc


def _run_batch(
    pipeline: Pipeline,
    readers: list[Reader],
    services: Services,
    seen: set[tuple[str, str]],
    tags: Mapping[str, str] | None,
    scheduler: Scheduler,
) -> None:
    """Run the upstream partitions ``readers`` miss in one scheduler, each within the run
    of the first reader naming it; the store is asked once per upstream asset."""
    owner: dict[tuple[str, str], tuple[Reader, Any]] = {}
    for reader in readers:
        for dep, key, partition in reader.wants:
            if (dep, key) not in seen and (dep, key) not in owner:
                owner[(dep, key)] = (reader, partition)
    if not owner:
        return
    failed: dict[tuple[str, str], FlowStoneError] = {}
    runs = _start_all(pipeline, owner, services, scheduler, seen, failed, tags)
    while scheduler.active:
        for run in scheduler.wait():
            pair = runs[run]
            if run.error is None:
                seen.add(pair)
                continue
            if not isinstance(run.error, FlowStoneError):
                raise run.error  # as run_target raises it
            log.error(
                "run.failed",
                run_id=run.run_id,
                pipeline=pipeline.name,
                asset=pair[0],
                partition=pair[1],
                error=f"{type(run.error).__name__}: {run.error}",
            )
            failed[pair] = run.error
    for reader in readers:
        lost = [(dep, key) for dep, key, _ in reader.wants if (dep, key) in failed]
        if not lost:
            continue
        if owner[lost[0]][0] is reader:
            reader.error = failed[lost[0]]
        else:  # another reader's upstream run failed: this one tries it again, in its run
            _one(pipeline, reader, services, seen, tags)


def _start_all(
    pipeline: Pipeline,
    owner: Mapping[tuple[str, str], tuple[Reader, Any]],
    services: Services,
    scheduler: Scheduler,
    seen: set[tuple[str, str]],
    failed: dict[tuple[str, str], FlowStoneError],
    tags: Mapping[str, str] | None,
) -> dict[PartitionRun, tuple[str, str]]:
    """Begin a run for each upstream partition in ``owner`` that is not done."""
    by_dep: dict[str, list[str]] = {}
    for dep, key in owner:
        by_dep.setdefault(dep, []).append(key)
    runs: dict[PartitionRun, tuple[str, str]] = {}
    for dep, keys in by_dep.items():
        try:
            done = services.done_assets_many(pipeline, keys, pipeline.closure(dep))
        except FlowStoneError as exc:
            failed.update(((dep, key), exc) for key in keys)
            continue
        for key in keys:
            stored = done.get(key, set())
            if dep in stored:
                seen.add((dep, key))
                continue
            reader, partition = owner[(dep, key)]
            try:
                run = _begin(pipeline, dep, partition, key, stored, reader.run_id, services, scheduler, tags)
            except FlowStoneError as exc:
                failed[(dep, key)] = exc
                continue
            if run is None:
                seen.add((dep, key))
            else:
                runs[run] = (dep, key)
    return runs


def _begin(
    pipeline: Pipeline,
    asset: str,
    partition: Any,
    key: str,
    stored: set[str],
    run_id: str,
    services: Services,
    scheduler: Scheduler,
    tags: Mapping[str, str] | None,
) -> PartitionRun | None:
    """Start the run of ``asset`` for ``partition`` within run ``run_id``, as
    ``run_target(within=run_id)`` would (None when nothing is to run)."""
    pipeline.get(asset).check_partition(pipeline.name, partition)
    plan = plan_run(pipeline, asset, partition, force=False, with_deps=True, is_done=stored.__contains__)
    if not plan:
        return None
    ensure_upstream(pipeline, plan, partition, services, run_upstream=within_run(run_id, tags))
    run = PartitionRun(run_id, partition, key, asset)
    run.nested = True
    if tags:
        run.tags = tags
    scheduler.begin(run, plan, {"force": False, "with_deps": True, "timeout": None})
    return run
