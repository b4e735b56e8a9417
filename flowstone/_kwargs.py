"""Keyword-argument types of ``@pipeline.asset(...)``, ``@pipeline.router(...)`` and ``fs.start(...)``.

The option dataclasses (``AssetOptions``, ``RouterOptions``, ``NodeConfig``) stay the one
place options are defined and validated; these ``TypedDict``s only let a type checker see
them through ``**options``, so ``@pipeline.asset(retries=3)`` or ``fs.start(max_paralel=3)``
is an error under mypy rather than at run time. ``tests/flowstone/test_typing.py`` checks
that each one names exactly its dataclass's fields, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from flowstone import partitions
    from flowstone._admission.options import Slots
    from flowstone._jobs.records import Unique
    from flowstone._pipeline import Pipeline
    from flowstone._retry import Retry
    from flowstone._routing.options import Fallback
    from flowstone._scatter.options import Rate, Scatter
    from flowstone._schedules.clock import WallClock
    from flowstone._schedules.schedule import Schedule
    from flowstone._store import LineageStore, Store
    from flowstone.io import IOManager

__all__ = ["AssetKwargs", "NodeKwargs", "RouterKwargs"]


class AssetKwargs(TypedDict, total=False):
    """The fields of ``fs.AssetOptions``, as keyword arguments (see its docstring)."""

    depends_on: Iterable[str] | None
    description: str | None
    retry: Retry | None
    timeout: float | None
    io: IOManager | None
    partitions: partitions.PartitionSet | Iterable[partitions.Partition] | None
    unique: Unique | None
    scatter: Scatter | None
    on_signal: Callable[..., Any] | None
    routed_from: str | None
    optional: Iterable[str]
    isolation: Literal["thread", "process"] | None
    deps: Mapping[str, Any] | None
    code_version: str | None
    requires: Iterable[str] | None
    rate: Rate | None
    concurrency: Slots | None


class RouterKwargs(AssetKwargs, total=False):
    """The fields of ``RouterOptions`` and of ``fs.AssetOptions``: what a router takes."""

    branches: Iterable[str]
    default: str | None
    on_error: Literal["fail"] | Fallback


class NodeKwargs(TypedDict, total=False):
    """The fields of ``fs.NodeConfig``, as keyword arguments of ``fs.start`` (see its docstring)."""

    name: str
    database_url: str | None
    auto_migrate: bool
    max_value_bytes: int
    max_concurrency: int
    max_parallel: int
    retry: Retry
    lineage_failure: Literal["log", "fail"]
    resources: Mapping[str, Any]
    io: IOManager | None
    store: Store | None
    lineage_store: LineageStore | None
    health_timeout: float
    memory_records: int
    queues: Mapping[str, int]
    job_retry: Retry
    rescue_after: float
    prune_after: float
    shutdown_grace: float
    poll_interval: float
    connect_timeout: float
    statement_timeout: float
    upkeep: bool | None
    allow_imports: Iterable[str] | None
    max_scatter_key_bytes: int
    scatter_lease: float
    signal_secret: str | bytes | None
    previous_signal_secrets: Iterable[str | bytes]
    max_signal_bytes: int
    wait_tick: float
    route_decisions: Literal["run", "keep", "none"]
    route_decision_ttl: float
    on_give_up: Literal["stop", "exit"]
    isolation: Literal["thread", "process"]
    schedules: Iterable[Schedule]
    pipelines: Iterable[Pipeline]
    clock: WallClock | None
    testing: Literal["inline"] | None
