"""Reading stored values: an asset's for a partition, and those a task's function takes."""

from __future__ import annotations

from typing import Any

from flowstone import partitions
from flowstone._execution.mapped import load_mapped
from flowstone._execution.task import Task
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline
from flowstone.errors import DependencyNotReadyError, NotMaterializedError
from flowstone.io import AssetKey

__all__ = ["load_dependencies", "load_value"]


def load_value(services: Services, pipeline: Pipeline, asset: str, partition: partitions.Partition) -> Any:
    """The stored value of ``asset``; ``NotMaterializedError`` if there is none."""
    key = partitions.serialize(partition)
    io = services.resolve_io(pipeline.get(asset).options.io)
    try:
        return io.load(AssetKey(pipeline.name, asset, key))
    except KeyError:
        where = "" if partition is None else f", partition {partitions.describe(partition)!r}"
        raise NotMaterializedError(
            f"asset {asset!r}{where} (pipeline {pipeline.name!r}) has no stored value; run it first",
            asset=asset,
            partition=partition,
        ) from None


def load_dependencies(task: Task) -> dict[str, Any]:
    """The values of ``task``'s dependencies its function takes, by parameter name: kept
    payloads of this run decoded, mapped dependencies read through their mapping, the
    rest loaded from their IO managers."""
    kwargs: dict[str, Any] = {}
    absent = task.absent
    for dep, io in task.dep_io:  # only those its function takes (TaskMaker)
        if absent and dep in absent:
            kwargs[dep] = None  # an optional dependency skipped in this run
            continue
        spec = task.mapped.get(dep) if task.mapped else None
        if spec is not None:
            kwargs[dep] = load_mapped(task.pipeline, dep, spec, task.partition, task.reads, task.asset.name)
            continue
        payload = task.dep_payloads.get(dep)
        if payload is not None:
            kwargs[dep] = io.decode(payload)  # type: ignore[attr-defined]  # SQL values
            continue
        try:
            kwargs[dep] = io.load(AssetKey(task.pipeline, dep, task.partition_key))
        except KeyError:
            raise DependencyNotReadyError(
                f"asset {task.asset.name!r}, partition {partitions.describe(task.partition)!r}: "
                f"upstream asset {dep!r} has no stored value; run it first (with_deps=True)",
                asset=task.asset.name,
                partition=task.partition,
                run_id=task.run_id,
                missing=(dep,),
            ) from None
    return kwargs
