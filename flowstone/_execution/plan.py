"""Planning: which assets a run must materialize, in dependency order."""

from __future__ import annotations

from collections.abc import Callable

from flowstone import partitions
from flowstone._pipeline import Pipeline
from flowstone.errors import DependencyNotReadyError

__all__ = ["plan_run"]


def plan_run(
    pipeline: Pipeline,
    target: str,
    partition: partitions.Partition,
    *,
    force: bool,
    with_deps: bool,
    is_done: Callable[[str], bool],
) -> list[str]:
    """The assets to run for ``target``, dependencies first; empty when it is up to date.

    An asset that is already materialized is reused and its own dependencies are not
    looked at; ``force`` re-runs the target only.
    """
    deps = pipeline.local_deps  # mapped dependencies are materialized before (mapped.py)
    if not force and is_done(target):
        return []
    if not with_deps:
        missing = tuple(d for d in deps[target] if not is_done(d))
        if missing:
            raise DependencyNotReadyError(
                f"asset {target!r}, partition {partitions.describe(partition)!r} (pipeline "
                f"{pipeline.name!r}): upstream {', '.join(map(repr, missing))} not materialized; "
                "run with with_deps=True or materialize them first",
                asset=target,
                partition=partition,
                missing=missing,
            )
        return [target]
    needed = {target}
    stack = list(deps[target])
    while stack:
        asset = stack.pop()
        if asset in needed or is_done(asset):
            continue
        needed.add(asset)
        stack.extend(deps[asset])
    if len(needed) == 1:
        return [target]
    return [asset for asset in pipeline.order if asset in needed]
