"""Asset definitions: the options an asset takes and what a pipeline knows about it."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import linecache
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from flowstone import partitions
from flowstone._admission.options import Slots
from flowstone._execution.kinds import PLAIN, AssetKind, kind_of
from flowstone._jobs.records import Unique
from flowstone._options import build_options
from flowstone._retry import Retry
from flowstone._scatter.options import Rate, Scatter
from flowstone.errors import DefinitionError, OptionError, PartitionError

if TYPE_CHECKING:
    from flowstone.io import IOManager

__all__ = ["MAX_NAME_LENGTH", "AssetDef", "AssetInfo", "AssetOptions", "check_name", "make_options"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
MAX_NAME_LENGTH = 200
"""The longest pipeline or asset name: the store keeps names in columns this wide."""


def check_name(kind: str, name: str, where: str = "") -> None:
    """Refuse a name longer than the store keeps, when it is defined rather than stored.

    SQLite would keep it whole and PostgreSQL refuse it, so the same pipeline would work on
    one database and fail on the other, at the first write.
    """
    if len(name) > MAX_NAME_LENGTH:
        shown = repr(name[:40]) + ("..." if len(name) > 40 else "")
        raise DefinitionError(
            f"{where}{kind} name {shown} is {len(name)} characters long; the store keeps names "
            f"of at most {MAX_NAME_LENGTH} characters: shorten it"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetOptions:
    """Everything an asset can be configured with; ``@pipeline.asset(**options)``.

    Attributes:
        depends_on: upstream asset names; by default the function's parameters after ctx.
        description: one line for ``asset_info`` and graphs; defaults to the docstring.
        retry: retry policy; None uses the node's default.
        timeout: seconds one attempt may run before it counts as failed; None for no limit.
        io: where the value is stored; None uses the node's default IO manager.
        partitions: the partition set this asset has (``fs.partitions.Daily(...)``,
            ``Hourly``, ``Static``, ``Multi``; a plain list is a ``Static`` set); None
            accepts any valid partition. A run or backfill of a partition outside it is
            refused before anything runs.
        unique: at most one durable job per key and period (``fs.Unique``).
        scatter: run the asset once per key (or batch) and gather the results (``fs.Scatter``).
        on_signal: ``on_signal(ctx, payload, **deps)`` computes the asset's value once a
            gate it returned is signalled (without it, the payload is the value).
        routed_from: the router that selects this asset: it runs only when selected, and
            is skipped otherwise (docs/routing.md).
        optional: dependencies that may be skipped: the asset then still runs and gets
            None for them (any other skipped dependency skips it too).
        isolation: ``"process"`` runs the asset in a supervised worker process (its
            ``timeout`` kills it; a crash fails only that materialization), ``"thread"``
            on a runner thread; None uses the node's ``isolation`` (see docs/supervisors.md).
        deps: dependency name → partition mapping (``fs.partitions.Unpartitioned()``,
            ``All()``, ``Window(start, end)``, ``Last()``, ``Identity()`` or a function
            partition → upstream partitions): which upstream partitions each partition
            reads (docs/partitions.md). Unlisted ones get the default mapping.
        code_version: the version of the asset's code, recorded with each value so that
            values of older code read as stale; by default a hash of the function's
            source and options, so editing either makes its stored values stale.
        requires: the resources the asset uses: ``ctx.resources`` then holds exactly
            those (None: all of the node's resources; docs/resources.md).
        rate: at most ``rate.limit`` starts per ``rate.per`` seconds for ``rate.key``
            (default: the asset), across every process on the database (``fs.Rate``); an
            asset over it waits, without holding a runner, and never fails for it.
        concurrency: at most ``n`` materializations holding its key at once, across every
            process on the database (``fs.Slots(key, n)``); it waits for a slot.
    """

    depends_on: tuple[str, ...] | None = None
    description: str | None = None
    retry: Retry | None = None
    timeout: float | None = None
    io: IOManager | None = None
    partitions: partitions.PartitionSet | None = None
    unique: Unique | None = None
    scatter: Scatter | None = None
    on_signal: Callable[..., Any] | None = None
    routed_from: str | None = None
    optional: tuple[str, ...] = ()
    isolation: Literal["thread", "process"] | None = None
    deps: Mapping[str, Any] | None = None
    code_version: str | None = None
    requires: tuple[str, ...] | None = None
    rate: Rate | None = None
    concurrency: Slots | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "requires", _resource_names(self.requires))
        _check_limits(self.rate, self.concurrency)
        if self.on_signal is not None and not callable(self.on_signal):
            raise OptionError(f"on_signal must be a callable (ctx, payload, **deps), got {self.on_signal!r}")
        if self.routed_from is not None and (
            not isinstance(self.routed_from, str) or not self.routed_from.isidentifier()
        ):
            raise OptionError(f"routed_from must be the name of a router asset, got {self.routed_from!r}")
        if isinstance(self.optional, str) or not isinstance(self.optional, Iterable):
            raise OptionError(f"optional must be a list of dependency names, got {self.optional!r}")
        object.__setattr__(self, "optional", tuple(self.optional))
        if not all(isinstance(name, str) for name in self.optional):
            raise OptionError(f"optional must be a list of dependency names, got {self.optional!r}")
        if self.depends_on is not None:
            if isinstance(self.depends_on, str) or not isinstance(self.depends_on, Iterable):
                raise OptionError(f"depends_on must be a list of asset names, got {self.depends_on!r}")
            object.__setattr__(self, "depends_on", tuple(self.depends_on))
        if self.retry is not None and not isinstance(self.retry, Retry):
            raise OptionError(f"retry must be a flowstone.Retry, got {self.retry!r}")
        if self.timeout is not None and (
            isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float) or self.timeout <= 0
        ):
            raise OptionError(f"timeout must be a number of seconds > 0, got {self.timeout!r}")
        check_isolation("isolation", self.isolation, optional=True)
        object.__setattr__(self, "deps", _frozen_deps(self.deps))
        if self.code_version is not None and (
            not isinstance(self.code_version, str) or not 1 <= len(self.code_version) <= 64
        ):
            raise OptionError(f"code_version must be text of 1 to 64 characters, got {self.code_version!r}")
        if self.partitions is not None and not isinstance(self.partitions, partitions.PartitionSet):
            try:
                declared = partitions.Static(self.partitions)
            except PartitionError as exc:
                raise DefinitionError(f"bad partition declaration: {exc}") from exc
            object.__setattr__(self, "partitions", declared)
        if self.scatter is not None and not isinstance(self.scatter, Scatter):
            raise DefinitionError(f"scatter must be a flowstone.Scatter, got {self.scatter!r}")


def _check_limits(rate: object, concurrency: object) -> None:
    if rate is not None and not isinstance(rate, Rate):
        raise DefinitionError(f"rate must be a flowstone.Rate(limit, per=...), got {rate!r}")
    if concurrency is not None and not isinstance(concurrency, Slots):
        raise DefinitionError(f"concurrency must be a flowstone.Slots(key, n), got {concurrency!r}")


def _resource_names(value: object) -> tuple[str, ...] | None:
    """``requires`` as a tuple of names (None stays None: all resources); ``OptionError``
    if it is not a list of names."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise OptionError(f"requires must be a list of resource names, got {value!r}")
    names = tuple(value)
    if not all(isinstance(name, str) for name in names):
        raise OptionError(f"requires must be a list of resource names, got {value!r}")
    return names


def check_isolation(name: str, value: object, *, optional: bool = False) -> None:
    """An ``isolation`` is ``"thread"`` or ``"process"`` (or None where ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise OptionError(f"{name} must be 'thread' or 'process', got {value!r}")
    if value not in ("thread", "process"):
        raise OptionError(f"{name} must be 'thread' or 'process', got {value!r}")


def _frozen_deps(value: object) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise OptionError(f"deps must be a dict of dependency name → partition mapping, got {value!r}")
    return MappingProxyType(dict(value))


def _check_mapped(where: str, options: AssetOptions, deps: tuple[str, ...]) -> None:
    for dep in options.deps or {}:
        if dep not in deps:
            raise DefinitionError(
                f"{where}: deps= maps {dep!r}, which is not one of its dependencies {deps!r}"
            )


_UNSET_UNHASHED = frozenset({"requires", "rate", "concurrency"})


def code_hash(fn: Callable[..., Any], options: AssetOptions) -> str:
    """The default code version: a hash of the function's source and its options.

    Options are hashed by their text without memory addresses (``<function f at 0x...>``
    differs in every process) and without the ``io`` manager; a function without readable
    source is hashed by its bytecode.
    """
    try:
        linecache.checkcache(inspect.getsourcefile(fn))  # a reloaded module: read it anew
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        source = code.co_code.hex() if code is not None else repr(fn)
    shown = {
        f.name: _ADDRESS.sub("", repr(getattr(options, f.name)))
        for f in dataclasses.fields(options)
        # Options added later are left out while unset: adding one keeps existing versions.
        if f.name != "io" and not (f.name in _UNSET_UNHASHED and getattr(options, f.name) is None)
    }
    text = source + "\0" + repr(sorted(shown.items()))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def make_options(options: Mapping[str, Any]) -> AssetOptions:
    """Build ``AssetOptions`` from keyword options, naming the valid ones on a typo."""
    return build_options(AssetOptions, options, "asset")


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """A description of one asset, for tools and docs (``fs.asset_info``)."""

    name: str
    depends_on: tuple[str, ...]
    description: str | None
    options: AssetOptions


@dataclass(frozen=True, slots=True, eq=False)
class AssetDef:
    """One asset as the runtime sees it: its function, dependencies and options.

    ``params`` are the dependency names passed to the function as keyword arguments;
    dependencies not among them only order the run.
    """

    name: str
    fn: Callable[..., Any]
    deps: tuple[str, ...]
    params: tuple[str, ...]
    options: AssetOptions
    accepts_all: bool = field(default=False)
    kind: AssetKind = field(default=PLAIN)
    version: str = field(default="")  # the code version recorded with its values

    @classmethod
    def define(
        cls, pipeline: str, fn: Callable[..., Any], options: AssetOptions, kind: AssetKind = PLAIN
    ) -> AssetDef:
        name = getattr(fn, "__name__", None)
        if not callable(fn) or not isinstance(name, str) or not name.isidentifier():
            raise DefinitionError(f"pipeline {pipeline!r}: an asset must be a named function, got {fn!r}")
        check_name("asset", name, f"pipeline {pipeline!r}: ")
        where = f"pipeline {pipeline!r}, asset {name!r}"
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError) as exc:
            raise DefinitionError(f"{where}: cannot read the function's signature: {exc}") from exc
        parameters = list(signature.parameters.values())
        if not parameters or parameters[0].kind not in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            raise DefinitionError(
                f"{where}: the first parameter must be the context, e.g. def {name}(ctx): ..."
            )
        rest = parameters[1:]
        accepts_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in rest)
        named = [
            p for p in rest if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
        ]
        deps = options.depends_on if options.depends_on is not None else tuple(p.name for p in named)
        for param in named:
            if param.name not in deps and param.default is inspect.Parameter.empty:
                raise DefinitionError(
                    f"{where}: parameter {param.name!r} is not a dependency; add it to "
                    "depends_on or give it a default"
                )
        if len(set(deps)) != len(deps):
            raise DefinitionError(f"{where}: depends_on lists a dependency twice: {deps!r}")
        _check_mapped(where, options, deps)
        for dep in options.optional:
            if dep not in deps:
                raise DefinitionError(
                    f"{where}: optional dependency {dep!r} is not one of its dependencies {deps!r}"
                )
        params = deps if accepts_all else tuple(d for d in deps if d in {p.name for p in named})
        router = options.routed_from
        if router is not None and router not in deps:
            if router == name:
                raise DefinitionError(f"{where}: an asset cannot be routed from itself")
            deps = (*deps, router)  # it waits for its router's decision: an order, not a value
        description = options.description
        if description is None and fn.__doc__:
            description = inspect.cleandoc(fn.__doc__).splitlines()[0]
        if description != options.description:
            options = dataclasses.replace(options, description=description)
        kind_def = kind_of(kind, options, where)
        version = options.code_version or code_hash(fn, options)
        return cls(name, fn, tuple(deps), params, options, accepts_all, kind_def, version)

    def info(self) -> AssetInfo:
        return AssetInfo(self.name, self.deps, self.options.description, self.options)

    def check_partition(self, pipeline: str, partition: partitions.Partition) -> None:
        """Raise ``PartitionError`` if this asset does not accept ``partition``."""
        declared = self.options.partitions
        if declared is not None and partition not in declared:
            declared.check(partition, f"pipeline {pipeline!r}, asset {self.name!r}: ")
