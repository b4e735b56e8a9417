"""Staleness: whether a stored value would come out differently if computed now.

A completed value is stale when the code that computed it changed (its recorded code
version differs from the asset's current one), when an upstream value it read (its
lineage) was materialized again after it, is missing now, or is itself stale. Records
written before code versions were recorded have none and are not judged by their code.

Upstream values are compared by data version, not by clock: each lineage edge records
the data version of the upstream value read (the run that materialized it), and an
upstream whose newest completed value has another version was materialized again. A
re-run that computes an equal value is still a new version (docs/decisions.md: values
are not hashed). Edges written before data versions were recorded (None) fall back to
comparing completion times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._store.records import MaterializationRecord
from flowstone.errors import PartitionError

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline
    from flowstone._store.base import Store

__all__ = ["run_stale", "stale_assets", "stale_reasons"]


def stale_reasons(
    store: Store,
    pipeline: Pipeline,
    asset: str,
    key: str,
    record: MaterializationRecord | None = None,
    memo: dict[tuple[str, str], tuple[str, ...]] | None = None,
) -> tuple[str, ...]:
    """Why the stored value of ``asset`` for partition ``key`` is stale (empty: fresh).

    The lineage is walked without recursion (a chain of any length), each value judged
    after the values it read; ``memo`` keeps the verdicts for further calls.
    """
    seen = memo if memo is not None else {}
    edges: dict[tuple[str, str], list[tuple[str, str, str | None]]] = {}
    records: dict[tuple[str, str], MaterializationRecord | None] = {(asset, key): record}
    order: list[tuple[str, str]] = []
    stack: list[tuple[tuple[str, str], bool]] = [((asset, key), False)]
    while stack:
        node, expanded = stack.pop()
        if node in seen:
            continue
        if expanded:
            order.append(node)
            continue
        if node in edges:  # reached twice before judged: judged once, after its inputs
            continue
        found = records.get(node) or store.latest(pipeline.name, *node)
        records[node] = found
        ups = (
            []
            if found is None or found.status != "completed"
            else store.upstream_versions(pipeline.name, *node)
        )
        edges[node] = ups
        stack.append((node, True))
        stack.extend(((a, k), False) for a, k, _ in ups if (a, k) not in seen)
    for node in order:
        seen[node] = tuple(_judge(store, pipeline, node, records, edges[node], seen))
    return seen[asset, key]


def _judge(
    store: Store,
    pipeline: Pipeline,
    node: tuple[str, str],
    records: dict[tuple[str, str], MaterializationRecord | None],
    ups: list[tuple[str, str, str | None]],
    seen: dict[tuple[str, str], tuple[str, ...]],
) -> list[str]:
    found = records[node]
    if found is None or found.status != "completed" or node[0] not in pipeline:
        return []
    reasons: list[str] = []
    current = pipeline.get(node[0]).version
    if found.code_version is not None and found.code_version != current:
        reasons.append(f"code changed (version {found.code_version} recorded, {current} now)")
    for up_asset, up_key, version in ups:
        up_node = (up_asset, up_key)
        where = f"upstream {up_asset!r}" + ("" if up_key == "null" else f" [{_shown(up_key)}]")
        if up_node not in records:  # judged by an earlier call (memo): its record not read here
            records[up_node] = store.latest(pipeline.name, *up_node)
        up = records[up_node]
        if up is None or up.status != "completed":
            reasons.append(f"{where} is no longer materialized")
        elif _newer(version, up, found):
            reasons.append(f"{where} was materialized again since")
        elif seen.get(up_node):
            reasons.append(f"{where} is stale")
    return reasons


def _newer(version: str | None, up: MaterializationRecord, found: MaterializationRecord) -> bool:
    """Whether ``up`` is another value than the one ``found`` read (data version ``version``)."""
    if version is not None:
        return up.run_id != version
    return up.finished_at is not None and found.finished_at is not None and up.finished_at > found.finished_at


def _shown(key: str) -> str:
    try:
        return partitions.describe(partitions.deserialize(key))
    except PartitionError:
        return key


def stale_assets(store: Store, pipeline: Pipeline, asset: str, partition: partitions.Partition) -> list[str]:
    """The assets of ``asset``'s closure (same partition) whose values are stale, in order."""
    key = partitions.serialize(partition)
    memo: dict[tuple[str, str], tuple[str, ...]] = {}
    return [name for name in pipeline.closure(asset) if stale_reasons(store, pipeline, name, key, memo=memo)]


def run_stale(
    store: Store,
    run: Callable[..., Any],
    pipeline: Pipeline,
    asset: str,
    partition: partitions.Partition,
) -> Any:
    """Re-run what is stale in ``asset``'s closure for ``partition``, in dependency order.

    A stale asset is re-run (``force``); an asset downstream of one re-run reads as stale
    then (its upstream was materialized again) and is re-run in turn; fresh values are
    left alone. Missing values are materialized as by a plain run.
    """
    key = partitions.serialize(partition)
    closure = set(pipeline.closure(asset))
    for name in [a for a in pipeline.order if a in closure]:
        record = store.latest(pipeline.name, name, key)
        if record is None or record.status != "completed":
            continue  # materialized by the plain run below, with what it needs
        if stale_reasons(store, pipeline, name, key, record):
            run(pipeline, name, partition=partition, force=True)
    return run(pipeline, asset, partition=partition)
