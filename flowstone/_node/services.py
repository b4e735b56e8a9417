"""What the node's actors share: configuration and handles, never mutable run state."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pykka import ActorDeadError

from flowstone._admission.gate import Admission
from flowstone._limits import reserver
from flowstone._parallel.runs import BranchRuns
from flowstone._retry import Retry
from flowstone._routing.decisions import RouteDecisions
from flowstone._scatter.control import ScatterControl
from flowstone._store.memory_barrier import MemoryBarrier
from flowstone.errors import FlowStoneError
from flowstone.events import EventBus
from flowstone.io import SQL, AssetKey, IOManager
from supervisors import SupervisorError

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context
    from flowstone._execution.pool import RunnerPool
    from flowstone._pipeline import Pipeline
    from flowstone._store import LineageStore, Store
    from supervisors import SupervisorRef

__all__ = ["Directory", "Services"]


def _call_directly(asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
    return asset.fn(ctx, **kwargs)


class Directory:
    """Finds the current ref of one of the node's actors through the root supervisor.

    Actors restart with new refs, so nothing keeps one for long: callers look them up when
    they need them (never from an ``on_start``, which runs while the supervisor waits).
    """

    __slots__ = ("_cache", "root")

    def __init__(self) -> None:
        self.root: SupervisorRef | None = None
        # A cache of the last answer per child: a dict read and written whole under the
        # GIL, and checked for liveness on every use, so a stale entry is never returned.
        self._cache: dict[str, Any] = {}

    def lookup(self, child_id: str) -> Any:
        cached = self._cache.get(child_id)
        if cached is not None and cached.is_alive():
            return cached
        root = self.root
        if root is None:
            return None
        try:
            ref = root.whereis(child_id)
        except (ActorDeadError, SupervisorError):
            return None
        if ref is not None:
            self._cache[child_id] = ref
        return ref


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """The node-wide collaborators every materialization needs."""

    node_id: str
    store: Store
    lineage_store: LineageStore
    default_io: IOManager
    resources: Mapping[str, Any]
    events: EventBus
    lineage_failure: Literal["log", "fail"]
    default_retry: Retry
    directory: Directory
    pool: RunnerPool
    max_scatter_key_bytes: int = 4096
    scatter_lease: float = 15.0
    scatter_workers: int = 4  # threads running one scatter's keys (the node's max_concurrency)
    scatters: ScatterControl = field(default_factory=ScatterControl)
    scatter_barrier: MemoryBarrier = field(default_factory=MemoryBarrier)  # a store without one
    waits: Any = None  # the node's durable waits (flowstone._waits.runtime.Waits)
    decisions: RouteDecisions = field(default_factory=RouteDecisions)  # routers' (docs/routing.md)
    #: How a runner calls an asset function: directly, or in a worker process
    #: (``_node/isolation.py``); ``call_asset(asset, ctx, kwargs)``.
    call_asset: Callable[[AssetDef, Context, Mapping[str, Any]], Any] = field(default=_call_directly)
    #: The threads running parallel assets' branches (``flowstone/_parallel/``).
    branch_runs: BranchRuns = field(default_factory=BranchRuns)
    #: Rates and slots (``rate=``, ``concurrency=``): whether an attempt may start now.
    admission: Admission = field(default_factory=Admission)
    #: Per validated (so closed) pipeline, what every task of an asset shares: its IO
    #: managers and mapped dependencies, worked out once per node (``TaskMaker``, issue 22).
    task_parts: weakref.WeakKeyDictionary[Pipeline, dict[str, Any]] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    #: ``ctx.limit``'s grants (``Context._reserve``): the same for every attempt, so built
    #: once here rather than as two closures per attempt (issue 22).
    reserve: Callable[[Any], float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reserve", self.admission.reserver(reserver(self.directory.lookup)))

    def done_assets(self, pipeline: Pipeline, partition_key: str, assets: Sequence[str]) -> set[str]:
        """Which of ``assets`` are materialized (completed, value stored) for a partition."""
        return self.done_assets_many(pipeline, [partition_key], assets).get(partition_key, set())

    def done_assets_many(
        self, pipeline: Pipeline, partition_keys: Sequence[str], assets: Sequence[str]
    ) -> dict[str, set[str]]:
        """Per partition key, which of ``assets`` are materialized: a query or two for all
        of them, not one per asset and partition, so that planning costs little."""
        completed = self.store.completed(pipeline.name, partition_keys, assets)
        by_io: dict[int, tuple[IOManager, list[tuple[str, str]]]] = {}
        for key, names in completed.items():
            for asset in names:
                io = self.resolve_io(pipeline.get(asset).options.io)
                home = getattr(io, "owner", io)  # SQL values of one store share a table
                by_io.setdefault(id(home), (io, []))[1].append((asset, key))
        done: dict[str, set[str]] = {}
        for io, pairs in by_io.values():
            existing = getattr(io, "existing", None)
            if existing is not None:
                stored = existing(pipeline.name, pairs)
            else:
                stored = {(a, k) for a, k in pairs if io.exists(AssetKey(pipeline.name, a, k))}
            for asset, key in stored:
                done.setdefault(key, set()).add(asset)
        return done

    def resolve_io(self, io: IOManager | None) -> IOManager:
        """The IO manager to use for an asset's ``io`` option (None: the node's default)."""
        if io is None:
            return self.default_io
        if isinstance(io, SQL):
            bind = getattr(self.store, "values", None)
            if bind is None:
                raise FlowStoneError(
                    "an asset uses fs.io.SQL() but this node has no database; start it with "
                    "fs.start(database_url='sqlite:///flowstone.db') or another IO manager"
                )
            bound: IOManager = bind(io.format, io.max_value_bytes)
            return bound
        return io
