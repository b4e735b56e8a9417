"""Helpers for testing pipelines: run one asset with given inputs, without a node."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import structlog

from flowstone import partitions
from flowstone._context import Context
from flowstone._pipeline import Pipeline
from flowstone.errors import DefinitionError

__all__ = ["run_asset"]


def run_asset(
    pipeline: Pipeline,
    asset: str,
    *,
    deps: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    resources: Mapping[str, Any] | None = None,
    attempt: int = 1,
) -> Any:
    """Call one asset's function with the given dependency values and return its result.

    Example: ``run_asset(pipeline, "doubled", deps={"numbers": [1, 2]}) == [2, 4]``.
    Nothing is stored and no node is started; exceptions propagate unchanged.
    """
    definition = pipeline.get(asset)
    given = dict(deps or {})
    missing = [name for name in definition.params if name not in given]
    if missing:
        raise DefinitionError(
            f"asset {asset!r} needs values for {', '.join(map(repr, missing))}; pass them in deps={{...}}"
        )
    partitions.validate(partition)
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    log = structlog.get_logger("flowstone").bind(
        run_id=run_id, asset=asset, partition=partitions.describe(partition)
    )
    ctx = Context(run_id, asset, partition, attempt, pipeline.name, log, dict(resources or {}))
    kwargs = {name: given[name] for name in definition.params}
    return definition.fn(ctx, **kwargs)
