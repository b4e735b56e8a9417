"""Keyword-argument type of ``fs.start(...)``: the fields of ``NodeConfig``.

Like ``flowstone._kwargs`` for assets, it only lets a type checker see the options through
``**options``; ``tests/flowstone/test_typing.py`` checks it names exactly ``NodeConfig``'s
fields. It is a module of its own because a node's options name ``Pipeline``, which
itself imports the asset keyword types: one module for both would import itself back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline
    from flowstone._retry import Retry
    from flowstone._schedules.clock import WallClock
    from flowstone._schedules.schedule import Schedule
    from flowstone._store import LineageStore, Store
    from flowstone.io import IOManager

__all__ = ["NodeKwargs"]


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
