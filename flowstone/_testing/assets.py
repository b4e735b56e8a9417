"""One asset in tests: called directly (``run_asset``) or through the engine (``materialize``)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from flowstone import partitions
from flowstone._asset import AssetDef, AssetOptions
from flowstone._context import Context
from flowstone._execution.kinds import PLAIN
from flowstone._pipeline import Pipeline
from flowstone._resources import LiveResources, release, required_resources, set_up
from flowstone.errors import DefinitionError
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._node.lineage import LineageRef
    from flowstone._store import Status

__all__ = ["Materialization", "materialize", "run_asset"]

T = TypeVar("T")


@overload
def run_asset(
    pipeline: Pipeline,
    asset: Callable[..., T],
    *,
    deps: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    resources: Mapping[str, Any] | None = None,
    attempt: int = 1,
) -> T: ...
@overload
def run_asset(
    pipeline: Pipeline,
    asset: str,
    *,
    deps: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    resources: Mapping[str, Any] | None = None,
    attempt: int = 1,
) -> Any: ...


def run_asset(
    pipeline: Pipeline,
    asset: str | Callable[..., Any],
    *,
    deps: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    resources: Mapping[str, Any] | None = None,
    attempt: int = 1,
) -> Any:
    """Call one asset's function with the given dependency values and return its result.

    Example: ``run_asset(pipeline, "doubled", deps={"numbers": [1, 2]}) == [2, 4]``.
    Nothing is stored and no node is started; exceptions propagate unchanged.
    ``fs.Resource`` objects in ``resources`` are set up before the call and torn down
    after it, and ``requires=`` filters them, as on a node. An
    ``optional`` dependency left out of ``deps`` gets None, as when it is skipped; a
    router's function returns what it returns (its branch is not checked). ``asset`` is a
    name, or the asset's function for a result typed to its return.
    """
    asset = pipeline.name_of(asset)
    definition = pipeline.get(asset)
    given = dict(deps or {})
    optional = definition.options.optional  # left out: None, as for a skipped dependency
    missing = [name for name in definition.params if name not in given and name not in optional]
    if missing:
        raise DefinitionError(
            f"asset {asset!r} needs values for {', '.join(map(repr, missing))}; pass them in deps={{...}}"
        )
    partitions.validate(partition)
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    log = get_logger("flowstone").bind(run_id=run_id, asset=asset, partition=partitions.describe(partition))
    declared = dict(resources or {})
    for name in definition.options.requires or ():  # as node.run: a definition error, before any setup
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise DefinitionError(
                f"asset {asset!r} requires the resource {name!r}, which run_asset was not given "
                f"(its resources: {known}); pass it in resources={{...}}"
            )
    state = set_up(declared)  # fs.Resource objects are set up around the call, as on a node
    try:
        live = LiveResources(declared)
        live.publish(state)
        chosen = required_resources(asset, definition.options.requires, live)
        ctx = Context(run_id, asset, partition, attempt, pipeline.name, log, chosen)
        kwargs = {name: given.get(name) for name in definition.params}
        return definition.fn(ctx, **kwargs)
    finally:
        release(declared, state)


@dataclass(frozen=True, slots=True)
class Materialization(Generic[T]):
    """What ``fs.testing.materialize`` returns.

    Attributes:
        value: the asset's value, as ``node.run`` returned it (through the codec and the
            IO manager, so a value the store could not keep fails here as in production).
        run_id: the run that materialized it.
        records: ``node.status`` of each asset of the run, by name: state, attempts, error.
        lineage: what the value was computed from (``node.lineage.upstream``).
    """

    value: T
    run_id: str | None
    records: Mapping[str, Status]
    lineage: list[LineageRef]

    def __iter__(self) -> Iterator[Any]:
        """``value, records = fs.testing.materialize(...)``: the two things most tests want."""
        return iter((self.value, self.records))


@overload
def materialize(
    pipeline: Pipeline,
    asset: Callable[..., T],
    *,
    upstream: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    **node_options: Any,
) -> Materialization[T]: ...
@overload
def materialize(
    pipeline: Pipeline,
    asset: str,
    *,
    upstream: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    **node_options: Any,
) -> Materialization[Any]: ...


def materialize(
    pipeline: Pipeline,
    asset: str | Callable[..., Any],
    *,
    upstream: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    partition: partitions.Partition = None,
    **node_options: Any,
) -> Materialization[Any]:
    """Materialize ``asset`` through the real engine on a fresh in-memory node, and stop it.

    ``upstream`` gives the values of upstream assets by name: they are not computed (their
    functions never run) but stored for the run as materialized values, so the asset under
    test is planned, retried, timed out, encoded and recorded as in production. Upstream
    assets not given are computed from their own upstream. ``node_options`` are
    ``fs.start`` options (``retry=``, ``max_concurrency=``, ...). Like Dagster's
    ``materialize(..., resources=)``; ``run_asset`` calls the function alone instead.
    """
    from flowstone._default import start  # noqa: PLC0415 - flowstone._default imports the node

    name = pipeline.name_of(asset)
    given = dict(upstream or {})
    stand_in = _with_values(pipeline, name, given)
    options: dict[str, Any] = {"name": "materialize", **node_options, "resources": dict(resources or {})}
    with start(**options) as node:
        value = node.run(stand_in, name, partition=partition)
        closure = stand_in.closure(name)
        records = {each: node.status(stand_in, each, partition) for each in closure}
        lineage = node.lineage.upstream(stand_in, name, partition)
    return Materialization(value, records[name].run_id, records, lineage)


def _with_values(pipeline: Pipeline, asset: str, given: Mapping[str, Any]) -> Pipeline:
    """A copy of ``pipeline`` whose ``given`` assets return the given values.

    The copy keeps the pipeline's name (so records and IO keys read as the real ones) and
    every other definition as it is; a stand-in keeps the partitions and IO manager of the
    asset it replaces, and nothing else (no dependencies, retries or scatter); a router's
    stays a router, whose given value is the branch it takes.
    """
    unknown = [name for name in given if name not in pipeline]
    if unknown:
        raise DefinitionError(
            f"pipeline {pipeline.name!r} has no asset {', '.join(map(repr, unknown))} to give a value "
            f"for in upstream={{...}}; its assets are {', '.join(pipeline.assets())}"
        )
    if asset in given:
        raise DefinitionError(f"asset {asset!r} is the one under test: leave it out of upstream={{...}}")
    copy = Pipeline(pipeline.name, description=pipeline.description, reference=pipeline.reference)
    for name in pipeline.assets():
        definition = pipeline.get(name)
        copy._add(_stand_in(definition, given[name]) if name in given else definition)
    copy.validate()
    return copy


def _stand_in(definition: AssetDef, value: Any) -> AssetDef:
    def given_value(ctx: Context) -> Any:
        return value

    options = AssetOptions(
        description=f"the value given to fs.testing.materialize for {definition.name!r}",
        io=definition.options.io,
        partitions=definition.options.partitions,
    )
    # A router's stand-in stays a router, so its given value (a branch) still selects.
    kind = definition.kind if definition.kind.rules_out else PLAIN
    stand_in = AssetDef.define("materialize", given_value, options, kind)
    return dataclasses.replace(stand_in, name=definition.name)
