"""FlowStone: asset-first data orchestration on an OTP-style supervision tree.

Define assets on a ``Pipeline``, start a node with ``fs.start()``, and materialize them
per partition with ``node.run``/``node.backfill``. See ``docs/concepts.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal, cast

from flowstone import partitions
from flowstone._asset import AssetInfo, AssetOptions
from flowstone._context import Context
from flowstone._graph import render as _render
from flowstone._parallel.options import PARALLEL_LABEL, Branch, BranchResult
from flowstone._pipeline import Pipeline
from flowstone._resources import Resource, env
from flowstone._retry import Retry
from flowstone._routing import SKIPPED, Fallback
from flowstone._schedules.sensor import SensorContext, SensorResult
from flowstone.errors import (
    ApprovalError,
    ApprovalRejectedError,
    AssetNotFoundError,
    CycleError,
    DecodeError,
    DefinitionError,
    DependencyNotReadyError,
    EncodeError,
    FlowStoneError,
    GateTimeoutError,
    IsolationError,
    LineageError,
    MaterializationError,
    NotMaterializedError,
    OptionError,
    ParallelBranchError,
    ParallelTimeoutError,
    PartitionError,
    ResourceError,
    ResourceUnavailableError,
    RouteError,
    ScatterCancelledError,
    ScatterError,
    ScatterKeyError,
    SchemaVersionError,
    SignalError,
    StoreUnavailableError,
    TagError,
    WaitCancelledError,
    WaitEndedError,
)

if TYPE_CHECKING:
    from flowstone import codec, events, http, io, readers, sensors, testing
    from flowstone._admission.options import Slots
    from flowstone._default import default_node, start
    from flowstone._execution.backfill import BackfillReport, PartitionResult
    from flowstone._jobs.handle import RunHandle
    from flowstone._jobs.records import Discard, JobInfo, Snooze, Unique
    from flowstone._node.config import NodeConfig
    from flowstone._node.health import Check, Health
    from flowstone._node.lineage import LineageFailure, LineageRef
    from flowstone._node.node import Node
    from flowstone._parallel.kind import Parallel
    from flowstone._partition_status import PartitionStatus
    from flowstone._scatter.batching import BatchInfo
    from flowstone._scatter.options import Batch, Rate, Scatter
    from flowstone._schedules.info import ScheduleInfo
    from flowstone._schedules.schedule import Schedule
    from flowstone._schedules.sensor_api import SensorInfo
    from flowstone._store import AuditEntry, Status
    from flowstone._store.barrier import Progress as ScatterProgress
    from flowstone._waits import ApprovalDecision, ApprovalInfo, Gate, GateInfo, RequestApproval

# `import flowstone` loads the definition core only (Pipeline, its kinds, errors, codec,
# events, io, partitions). The node runtime, jobs, schedules and the testing helpers are
# imported when first named (PEP 562), so a script that only defines assets, or the CLI's
# --help, does not pay for them (issue 22: import flowstone <= 100 ms).
_RENAMED = {"ScatterProgress": "Progress"}  # exported under another name than its module's
_LAZY: dict[str, str] = {
    "ScatterProgress": "flowstone._store.barrier",
    "AuditEntry": "flowstone._store",
    "Status": "flowstone._store",
    "ApprovalDecision": "flowstone._waits",
    "ApprovalInfo": "flowstone._waits",
    "Gate": "flowstone._waits",
    "GateInfo": "flowstone._waits",
    "RequestApproval": "flowstone._waits",
    "testing": "flowstone.testing",
    "http": "flowstone.http",
    # The codec (msgpack, dataclasses' introspection), the event bus and the IO managers
    # (pathlib, tempfile, hashlib) are named by a definition at most, not by the import.
    "codec": "flowstone.codec",
    "events": "flowstone.events",
    "io": "flowstone.io",
    "sensors": "flowstone.sensors",
    "readers": "flowstone.readers",
    "default_node": "flowstone._default",
    "start": "flowstone._default",
    "BackfillReport": "flowstone._execution.backfill",
    "PartitionResult": "flowstone._execution.backfill",
    "RunHandle": "flowstone._jobs.handle",
    "Discard": "flowstone._jobs.records",
    "JobInfo": "flowstone._jobs.records",
    "Snooze": "flowstone._jobs.records",
    "Unique": "flowstone._jobs.records",
    "NodeConfig": "flowstone._node.config",
    "Check": "flowstone._node.health",
    "Health": "flowstone._node.health",
    "LineageFailure": "flowstone._node.lineage",
    "LineageRef": "flowstone._node.lineage",
    "Node": "flowstone._node.node",
    "PartitionStatus": "flowstone._partition_status",
    "BatchInfo": "flowstone._scatter.batching",
    "Batch": "flowstone._scatter.options",
    "Rate": "flowstone._scatter.options",
    "Slots": "flowstone._admission.options",
    "Scatter": "flowstone._scatter.options",
    "ScheduleInfo": "flowstone._schedules.info",
    "Schedule": "flowstone._schedules.schedule",
    "SensorInfo": "flowstone._schedules.sensor_api",
}


def __getattr__(name: str) -> Any:
    # importlib.metadata is slow to import; read the version only when asked for it.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            return version("flowstone")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowstone' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"flowstone.{name}" else getattr(imported, _RENAMED.get(name, name))
    globals()[name] = value
    return value


__all__ = [
    # defining
    "Pipeline",
    "AssetOptions",
    "AssetInfo",
    "Retry",
    "Context",
    "Scatter",
    "Batch",
    "BatchInfo",
    "Rate",
    "Slots",
    "ScatterProgress",
    "assets",
    "asset_info",
    "graph",
    # routing
    "Fallback",
    "SKIPPED",
    # running
    "start",
    "Node",
    "NodeConfig",
    "Status",
    "AuditEntry",
    "BackfillReport",
    "PartitionResult",
    "LineageRef",
    "LineageFailure",
    "Health",
    "Check",
    "run",
    "get",
    "exists",
    "status",
    "invalidate",
    "backfill",
    "backfill_iter",
    "default_node",
    # durable jobs
    "RunHandle",
    "JobInfo",
    "Unique",
    "Snooze",
    "Discard",
    # durable waits
    "Gate",
    "GateInfo",
    "RequestApproval",
    "ApprovalInfo",
    "ApprovalDecision",
    # schedules and sensors
    "Schedule",
    "ScheduleInfo",
    "SensorResult",
    "SensorContext",
    "SensorInfo",
    # modules
    "codec",
    "events",
    "io",
    "partitions",
    "readers",
    "sensors",
    "testing",
    # errors
    "FlowStoneError",
    "DefinitionError",
    "CycleError",
    "PartitionError",
    "AssetNotFoundError",
    "DependencyNotReadyError",
    "NotMaterializedError",
    "OptionError",
    "MaterializationError",
    "LineageError",
    "RouteError",
    "EncodeError",
    "DecodeError",
    "StoreUnavailableError",
    "IsolationError",
    "SchemaVersionError",
    "ScatterKeyError",
    "ScatterError",
    "ScatterCancelledError",
    "SignalError",
    "ApprovalError",
    "WaitEndedError",
    "GateTimeoutError",
    "ApprovalRejectedError",
    "WaitCancelledError",
    "__version__",
    # parallel branches (docs/routing.md)
    "Branch",
    "BranchResult",
    "ParallelBranchError",
    "ParallelTimeoutError",
    # issue 19 (partitions)
    "PartitionStatus",
    # issue 19 (run metadata)
    "TagError",
    # issue 20 (resources, docs/resources.md)
    "Resource",
    "env",
    "ResourceError",
    "ResourceUnavailableError",
    "http",
]


def assets(pipeline: Pipeline) -> list[str]:
    """The asset names of ``pipeline`` in definition order."""
    return pipeline.assets()


def asset_info(pipeline: Pipeline, name: str) -> AssetInfo:
    """Name, dependencies, description and options of one asset."""
    return pipeline.info(name)


def graph(pipeline: Pipeline, format: Literal["ascii", "mermaid", "dot"] = "ascii") -> str:
    """The dependency graph drawn as text, a Mermaid ``graph TD`` or Graphviz dot."""
    descriptions = {name: pipeline.get(name).options.description or "" for name in pipeline.assets()}
    routes = {name: r for name in pipeline.assets() if (r := pipeline.get(name).options.routed_from)}
    parallels = {
        name: {branch: b.final for branch, b in cast("Parallel", kind).options.branches.items()}
        for name in pipeline.assets()
        if (kind := pipeline.get(name).kind).label == PARALLEL_LABEL
    }
    return _render(pipeline.name, pipeline.deps, descriptions, format, routes, parallels)


def run(pipeline: Pipeline, asset: str, **options: Any) -> Any:
    """``node.run`` on the default node."""
    return _default_node().run(pipeline, asset, **options)


def get(pipeline: Pipeline, asset: str, partition: Any = None) -> Any:
    """``node.get`` on the default node."""
    return _default_node().get(pipeline, asset, partition)


def exists(pipeline: Pipeline, asset: str, partition: Any = None) -> bool:
    """``node.exists`` on the default node."""
    return _default_node().exists(pipeline, asset, partition)


def status(pipeline: Pipeline, asset: str, partition: Any = None) -> Status:
    """``node.status`` on the default node."""
    return _default_node().status(pipeline, asset, partition)


def invalidate(pipeline: Pipeline, asset: str, partition: Any = None, *, cascade: bool = False) -> int:
    """``node.invalidate`` on the default node."""
    return _default_node().invalidate(pipeline, asset, partition, cascade=cascade)


def backfill(pipeline: Pipeline, asset: str, partitions: Any = None, **options: Any) -> BackfillReport:
    """``node.backfill`` on the default node."""
    return _default_node().backfill(pipeline, asset, partitions, **options)


def backfill_iter(pipeline: Pipeline, asset: str, partitions: Any = None, **options: Any) -> Any:
    """``node.backfill_iter`` on the default node."""
    return _default_node().backfill_iter(pipeline, asset, partitions, **options)


def _default_node() -> Node:
    from flowstone._default import default_node  # noqa: PLC0415 - the runtime loads on first use

    return default_node()
