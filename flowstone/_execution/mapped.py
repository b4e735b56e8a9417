"""Dependencies read through a partition mapping: materialized first, then loaded by key.

A run plans the assets of one partition; a dependency mapped to other partitions
(``Unpartitioned``, ``Window``, ``All``, ``Last``, a function) is not part of that plan.
Before the run, :func:`ensure_upstream` materializes the upstream partitions the mapping
names that are missing, as part of the same run (``run_target(within=run_id)``: their
records, lineage and events carry its run id; an unpartitioned upstream is materialized
once, and a backfill's later partitions find it done); the runner then loads them with
:func:`load_mapped` and records exactly the partitions read as lineage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._partition_mappings import PartitionMapping
from flowstone.errors import DependencyNotReadyError
from flowstone.io import AssetKey, IOManager

if TYPE_CHECKING:
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["LazyValues", "MappedDep", "ensure_upstream", "load_mapped", "mapped_deps"]

_CHUNK = 1000  # upstream partitions looked up per store query


@dataclass(frozen=True, slots=True)
class MappedDep:
    """How a task reads one mapped dependency."""

    mapping: PartitionMapping
    upstream_set: partitions.PartitionSet | None
    io: IOManager


def mapped_deps(pipeline: Pipeline, asset: str, services: Services) -> Mapping[str, MappedDep]:
    """The mapped dependencies of ``asset``, with the IO manager each is read from."""
    found = pipeline.mappings(asset)
    if not found:
        return {}
    return {
        dep: MappedDep(
            mapping, pipeline.get(dep).options.partitions, services.resolve_io(pipeline.get(dep).options.io)
        )
        for dep, mapping in found.items()
    }


def ensure_upstream(
    pipeline: Pipeline,
    planned: Iterable[str],
    partition: partitions.Partition,
    services: Services,
    seen: set[tuple[str, str]] | None = None,
    *,
    run_upstream: Callable[[Pipeline, str, partitions.Partition, Services], object],
    materialize: bool = True,
) -> None:
    """Materialize the missing upstream partitions that the ``planned`` assets of a run of
    ``partition`` read through their mappings (nothing for a run that reuses its value).

    ``seen`` remembers (asset, key) pairs known done, so a backfill asks the store once
    per upstream partition, not once per downstream partition. ``run_upstream`` runs one
    missing upstream partition (``run.run_target``): passed in, because run.py imports
    this module and the package's imports run one way (issue 22).

    Raises:
        DependencyNotReadyError: one is missing and not ``materialize`` (``with_deps=False``).
        FlowStoneError: an upstream run failed (its own error).
    """
    known = seen if seen is not None else set()
    for name in planned:
        for dep, mapping in pipeline.mappings(name).items():
            upstream_set = pipeline.get(dep).options.partitions
            wanted = mapping.upstream(partition, upstream_set)
            for chunk in _chunks(((p, partitions.serialize(p)) for p in wanted), _CHUNK):
                keys = [key for _, key in chunk if (dep, key) not in known]
                if not keys:
                    continue
                done = services.done_assets_many(pipeline, keys, (dep,))
                for upstream, key in chunk:
                    if (dep, key) in known:
                        continue
                    if dep not in done.get(key, ()):
                        if not materialize:
                            raise DependencyNotReadyError(
                                f"asset {name!r}, partition {partitions.describe(partition)!r} (pipeline "
                                f"{pipeline.name!r}): upstream {dep!r}, partition "
                                f"{partitions.describe(upstream)!r} (through its partition mapping) not "
                                "materialized; run with with_deps=True or materialize it first",
                                asset=name,
                                partition=partition,
                                missing=(dep,),
                            )
                        run_upstream(pipeline, dep, upstream, services)
                    known.add((dep, key))


def _chunks(items: Iterator[Any] | Any, size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class LazyValues(Mapping[Any, Any]):
    """A read-only dict partition → upstream value, each value loaded when first read.

    ``All()`` over 100,000 upstream partitions costs nothing until values are read; the
    partitions read are recorded (``reads``) as the asset's lineage.
    """

    __slots__ = ("_cache", "_dep", "_io", "_keys", "_pipeline", "_reads", "_where")

    def __init__(
        self,
        pipeline: str,
        dep: str,
        io: IOManager,
        upstream: Any,
        reads: list[tuple[str, str]],
        where: str,
    ) -> None:
        self._pipeline, self._dep, self._io, self._keys = pipeline, dep, io, upstream
        self._reads, self._where = reads, where
        self._cache: dict[str, Any] = {}

    def __getitem__(self, partition: Any) -> Any:
        key = partitions.serialize(partition)
        if key in self._cache:
            return self._cache[key]
        if partition not in self._keys:
            raise KeyError(partition)
        value = self._cache[key] = _load(self._io, self._pipeline, self._dep, key, partition, self._where)
        self._reads.append((self._dep, key))
        return value

    def __iter__(self) -> Iterator[Any]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def load_mapped(
    pipeline: str,
    dep: str,
    spec: MappedDep,
    partition: partitions.Partition,
    reads: list[tuple[str, str]],
    where: str,
) -> Any:
    """The value(s) of mapped dependency ``dep`` for ``partition``; the keys read go to ``reads``."""
    upstream = spec.mapping.upstream(partition, spec.upstream_set)
    if spec.mapping.single:
        (one,) = list(upstream) or [None]
        key = partitions.serialize(one)
        value = _load(spec.io, pipeline, dep, key, one, where)
        reads.append((dep, key))
        return value
    if isinstance(upstream, partitions.PartitionSet):  # All: lazy, whatever the size
        return LazyValues(pipeline, dep, spec.io, upstream, reads, where)
    values: dict[Any, Any] = {}
    for item in upstream:
        key = partitions.serialize(item)
        values[item] = _load(spec.io, pipeline, dep, key, item, where)
        reads.append((dep, key))
    return values


def _load(io: IOManager, pipeline: str, dep: str, key: str, partition: Any, where: str) -> Any:
    try:
        return io.load(AssetKey(pipeline, dep, key))
    except KeyError:
        raise DependencyNotReadyError(
            f"asset {where!r}: upstream asset {dep!r}, partition {partitions.describe(partition)!r} "
            "(through its partition mapping) has no stored value; run it first (with_deps=True)",
            asset=where,
            missing=(dep,),
        ) from None
