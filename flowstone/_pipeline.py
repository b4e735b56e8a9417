"""``Pipeline``: a named set of assets, defined with the ``@pipeline.asset`` decorator."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, Unpack, overload

from flowstone import _graph
from flowstone._admission.options import check_shared_keys
from flowstone._asset import AssetDef, AssetInfo, check_name, make_options
from flowstone._kwargs import AssetKwargs, RouterKwargs
from flowstone._options import build_options
from flowstone._parallel.define import check_parallel, join_function
from flowstone._parallel.options import ParallelOptions
from flowstone._partition_mappings import PartitionMapping, resolve_mappings
from flowstone._routing.options import RouterOptions
from flowstone._routing.router import Router
from flowstone._routing.validate import check_routing
from flowstone._schedules.sensor import SensorDef, SensorFunction, define_sensor
from flowstone.errors import AssetNotFoundError, DefinitionError

__all__ = ["Pipeline"]

AssetFunction = Callable[..., Any]
_F = TypeVar("_F", bound=AssetFunction)


class Pipeline:
    """A named set of assets and their dependencies.

    A pipeline is open for definitions until it is first validated or run; then it is
    frozen, so a run never sees a graph change under it. Nodes hold pipelines only by weak
    reference: drop the object and its definitions (and a node's in-memory values for it)
    go away.
    """

    __slots__ = (
        "__weakref__",
        "_assets",
        "_closed",
        "_closures",
        "_dependants",
        "_deps",
        "_local",
        "_mapped",
        "_module",
        "_order",
        "_rules_out",
        "_sensors",
        "description",
        "name",
        "reference",
    )

    def __init__(self, name: str, *, description: str | None = None, reference: str | None = None) -> None:
        """Create a pipeline.

        Args:
            name: the pipeline's name, used as the namespace of its stored values: any
                text of 1 to 200 characters.
            description: free text for tools.
            reference: ``"package.module:attribute"`` where workers can import it from;
                found automatically for module-level pipelines.
        """
        if not isinstance(name, str) or not name:
            raise DefinitionError(f"a pipeline needs a non-empty name, got {name!r}")
        check_name("pipeline", name)
        self.name = name
        self.description = description
        self.reference = reference
        # Where it was defined, so that a worker can import it by "module:attribute".
        self._module: str | None = sys._getframe(1).f_globals.get("__name__")
        self._assets: dict[str, AssetDef] = {}
        self._closed = False
        self._deps: dict[str, tuple[str, ...]] = {}
        self._dependants: dict[str, tuple[str, ...]] = {}
        self._order: tuple[str, ...] = ()
        self._closures: dict[str, tuple[str, ...]] = {}
        self._local: dict[str, tuple[str, ...]] = {}
        self._mapped: dict[str, dict[str, PartitionMapping]] = {}
        self._rules_out = False
        self._sensors: dict[str, SensorDef] = {}

    def __repr__(self) -> str:
        return f"<Pipeline {self.name!r} assets={len(self._assets)}>"

    # The function comes back with its own type (``_F``), so ``node.run(pipeline, fn)`` can
    # be typed to what it returns.
    @overload
    def asset(self, fn: _F, /) -> _F: ...
    @overload
    def asset(self, fn: None = None, /, **options: Unpack[AssetKwargs]) -> Callable[[_F], _F]: ...

    def asset(self, fn: _F | None = None, /, **options: Unpack[AssetKwargs]) -> _F | Callable[[_F], _F]:
        """Define an asset: ``@pipeline.asset`` or ``@pipeline.asset(**AssetOptions)``.

        Dependencies are the function's parameters after ``ctx`` unless ``depends_on`` is
        given. The function is returned unchanged, so it stays callable in tests.
        """
        asset_options = make_options(options)

        def register(function: _F) -> _F:
            self._add(AssetDef.define(self.name, function, asset_options))
            return function

        return register(fn) if fn is not None else register

    @overload
    def router(self, fn: _F, /) -> _F: ...
    @overload
    def router(self, fn: None = None, /, **options: Unpack[RouterKwargs]) -> Callable[[_F], _F]: ...

    def router(self, fn: _F | None = None, /, **options: Unpack[RouterKwargs]) -> _F | Callable[[_F], _F]:
        """Define a router: ``@pipeline.router(branches=("fast", "slow"), default=None,
        on_error="fail")``, and any asset option.

        Its function returns one of ``branches`` (or None: the ``default`` branch, or no
        branch); the others, defined with ``routed_from`` this router, are skipped for
        that run and partition. Its value is the branch taken (docs/routing.md).
        """
        if fn is not None:
            raise DefinitionError(
                f"pipeline {self.name!r}: @pipeline.router needs its branches: "
                "@pipeline.router(branches=('a', 'b'))"
            )
        router_fields = {"branches", "default", "on_error"}
        kind = Router(
            build_options(RouterOptions, {k: v for k, v in options.items() if k in router_fields}, "router")
        )
        asset_options = make_options({k: v for k, v in options.items() if k not in router_fields})

        def register(function: _F) -> _F:
            self._add(AssetDef.define(self.name, function, asset_options, kind))
            return function

        return register

    def parallel(self, fn: AssetFunction | None = None, /, **options: Any) -> Any:
        """Define a parallel asset: ``@pipeline.parallel(branches={"eu": "eu_report", "us":
        fs.Branch("us_report", required=False, timeout=600)}, failure_mode="all", timeout=None)``,
        and any asset option.

        Each branch (the sub-graph ending at its final asset) runs concurrently; the
        function is the join, called once as ``fn(ctx, branches, **deps)`` with
        ``branches`` mapping names to ``fs.BranchResult`` (docs/routing.md).
        """
        if fn is not None:
            raise DefinitionError(
                f"pipeline {self.name!r}: @pipeline.parallel needs its branches: "
                "@pipeline.parallel(branches={'name': 'final_asset'})"
            )
        parallel_fields = {"branches", "failure_mode", "timeout"}
        # Deferred: the kind's run-time half (jobs, waits, stores) loads with the first
        # parallel asset, not with `import flowstone` (issue 22, import time).
        from flowstone._parallel.kind import Parallel  # noqa: PLC0415

        kind = Parallel(
            build_options(
                ParallelOptions, {k: v for k, v in options.items() if k in parallel_fields}, "parallel"
            ),
            self,
        )
        asset_options = make_options({k: v for k, v in options.items() if k not in parallel_fields})

        def register(function: AssetFunction) -> AssetFunction:
            self._add(AssetDef.define(self.name, join_function(self.name, function), asset_options, kind))
            return function

        return register

    def sensor(
        self,
        fn: SensorFunction | None = None,
        /,
        *,
        target: str | None = None,
        interval: float = 30.0,
        name: str | None = None,
    ) -> Any:
        """Declare a sensor: ``@pipeline.sensor(target="ingest", interval=30.0)`` over a
        function ``(ctx, cursor) -> fs.SensorResult``, or ``pipeline.sensor(built_in,
        interval=5.0)`` with one of ``flowstone.sensors``. Returns the function unchanged.
        Nodes given this pipeline (``fs.start(pipelines=[...])``) or that register it poll it."""

        def register(function: SensorFunction) -> SensorFunction:
            definition = define_sensor(self, function, target=target, interval=interval, name=name)
            if definition.name in self._sensors:
                raise DefinitionError(f"pipeline {self.name!r}: sensor {definition.name!r} is defined twice")
            self._sensors[definition.name] = definition
            return function

        return register(fn) if fn is not None else register

    def sensors(self) -> list[SensorDef]:
        """The sensors declared on this pipeline, in declaration order."""
        return list(self._sensors.values())

    def _add(self, asset: AssetDef) -> None:
        if self._closed:
            raise DefinitionError(
                f"pipeline {self.name!r} is closed: it was validated or run before asset "
                f"{asset.name!r} was added; define a new Pipeline or reload the module"
            )
        if asset.name in self._assets:
            raise DefinitionError(f"pipeline {self.name!r}: asset {asset.name!r} is defined twice")
        self._assets[asset.name] = asset

    def validate(self) -> None:
        """Check the definitions (unknown dependencies, cycles) and close the pipeline."""
        if self._closed:
            return
        check_routing(self.name, self._assets)
        deps = {name: asset.deps for name, asset in self._assets.items()}
        _graph.check_graph(self.name, deps)
        check_parallel(self.name, self._assets, deps)
        check_shared_keys(self.name, self._assets)
        self._rules_out = any(asset.kind.rules_out for asset in self._assets.values())
        self._deps = deps
        self._mapped = resolve_mappings(self.name, self._assets)
        self._local = {n: tuple(d for d in ds if d not in self._mapped.get(n, ())) for n, ds in deps.items()}
        self._dependants = _graph.dependants(deps)
        self._order = tuple(_graph.topological_order(deps))
        self._closed = True

    @property
    def rules_out(self) -> bool:
        """Whether any asset's value may rule others out of a run (a router; validates first)."""
        self.validate()
        return self._rules_out

    @property
    def deps(self) -> Mapping[str, tuple[str, ...]]:
        """Asset name → dependency names, in definition order (validates first)."""
        self.validate()
        return self._deps

    @property
    def dependants(self) -> Mapping[str, tuple[str, ...]]:
        """Asset name → names of the assets that depend on it (validates first)."""
        self.validate()
        return self._dependants

    @property
    def order(self) -> tuple[str, ...]:
        """Every asset, dependencies first (validates first)."""
        self.validate()
        return self._order

    @property
    def local_deps(self) -> Mapping[str, tuple[str, ...]]:
        """Asset name → the dependencies read for the same partition (not through a
        partition mapping): those a run of one partition plans with it (validates first)."""
        self.validate()
        return self._local

    def mappings(self, name: str) -> Mapping[str, PartitionMapping]:
        """The dependencies of ``name`` read through a partition mapping, and how."""
        self.validate()
        return self._mapped.get(name, {})

    def closure(self, name: str) -> tuple[str, ...]:
        """``name`` and every asset it needs for the same partition, directly or not
        (memoized: the graph is frozen); mapped dependencies are runs of their own."""
        found = self._closures.get(name)
        if found is None:
            found = self._closures[name] = (*_graph.upstream(self.local_deps, name), name)
        return found

    def assets(self) -> list[str]:
        """The asset names in definition order."""
        return list(self._assets)

    def __contains__(self, name: object) -> bool:
        return name in self._assets

    def __len__(self) -> int:
        return len(self._assets)

    def get(self, name: str) -> AssetDef:
        """The definition of ``name``; ``AssetNotFoundError`` (with a suggestion) if unknown."""
        try:
            return self._assets[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._assets, n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f"; known assets: {', '.join(self._assets) or 'none'}"
            )
            raise AssetNotFoundError(
                f"pipeline {self.name!r} has no asset {name!r}{hint}",
                asset=name,
                pipeline=self.name,
            ) from None

    def name_of(self, asset: str | AssetFunction) -> str:
        """The asset's name, given its name or the function it was defined with.

        ``node.run(pipeline, total)`` takes the function so that a type checker knows what
        it returns; a function that is not one of this pipeline's assets is an
        ``AssetNotFoundError`` (checked by identity, not by name, so a look-alike from
        another pipeline is refused).
        """
        if isinstance(asset, str):
            return asset
        name = getattr(asset, "__name__", repr(asset))
        found = self._assets.get(name) if isinstance(name, str) else None
        if found is None or found.fn is not asset:
            raise AssetNotFoundError(
                f"pipeline {self.name!r} has no asset defined by the function {name!r}; "
                "pass an asset of this pipeline (its function or its name)",
                asset=str(name),
                pipeline=self.name,
            )
        return found.name

    def info(self, name: str) -> AssetInfo:
        """``AssetInfo`` for one asset."""
        return self.get(name).info()
