"""Resources with a lifecycle: ``fs.Resource``, ``fs.env`` and the live set assets see.

A ``fs.Resource`` is set up by the resources actor when it starts (in declaration
order) and torn down in reverse when it stops, restarts or crashes; the object its
``setup`` returns is what assets receive. A plain object is a resource without a
lifecycle. ``fs.env("NAME")`` placeholders in a resource's attributes are resolved just
before its ``setup``, so a node reads its secrets when it starts, not when it is defined.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flowstone._error_base import OptionError
from flowstone.errors import DefinitionError, ResourceError, ResourceUnavailableError
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = [
    "Env",
    "LiveResources",
    "Resource",
    "SetUp",
    "check_requires",
    "check_resource_instances",
    "env",
    "required_resources",
    "release",
    "set_up",
    "tear_down",
]

log = get_logger("flowstone")

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Env:
    """An environment variable read when the resource holding it is set up."""

    name: str
    default: Any = _MISSING

    def resolve(self, resource: str) -> Any:
        value = os.environ.get(self.name)
        if value is not None:
            return value
        if self.default is not _MISSING:
            return self.default
        raise ResourceError(
            f"resource {resource!r} needs the environment variable {self.name!r}, which is not "
            f"set: export {self.name}=... or give fs.env({self.name!r}, default=...)",
            resource=resource,
        )


def env(name: str, default: Any = _MISSING) -> Any:
    """A placeholder for the variable ``name``, resolved when its resource is set up.

    The name is checked here, where it is written: a typo such as ``fs.env(3)`` would
    otherwise surface only when a node starts, as a variable that is never set.
    """
    if not isinstance(name, str) or not name or "=" in name or "\0" in name:
        raise OptionError(
            f"fs.env: name must be the name of an environment variable (a non-empty str "
            f"without '=' or NUL), got {name!r}"
        )
    return Env(name, default)


class Resource:
    """A resource with a lifecycle; subclass it and override what you need.

    ``setup()`` returns the object assets receive (by default the resource itself),
    ``teardown(obj)`` releases it, ``health(obj)`` raises or returns False when it is
    unhealthy. ``optional = True`` (on the class or an instance) turns a failing setup
    into an unhealthy resource instead of a failed start.
    """

    optional: bool = False

    def setup(self) -> Any:
        return self

    def teardown(self, obj: Any) -> None:
        """Release what ``setup`` acquired; nothing by default."""

    def health(self, obj: Any) -> bool | None:
        """Healthy unless it raises or returns False."""
        return None


def _attributes(resource: Resource) -> dict[str, Any]:
    """The instance's attributes, in its ``__dict__`` and in the ``__slots__`` of its classes."""
    found = dict(getattr(resource, "__dict__", {}))
    for cls in type(resource).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in ("__dict__", "__weakref__") and hasattr(resource, slot):
                found.setdefault(slot, getattr(resource, slot))
    return found


def _resolve_env(name: str, resource: Resource, replaced: dict[str, Env]) -> None:
    """Replace the ``fs.env`` attributes by their values, noting each in ``replaced``
    (so that ``release`` can put the placeholders back: the next setup reads again)."""
    # object.__setattr__: a frozen dataclass is a natural way to write a resource's
    # configuration, and its fs.env(...) fields must be resolved all the same.
    for attr, value in _attributes(resource).items():
        if isinstance(value, Env):
            replaced[attr] = value
            object.__setattr__(resource, attr, value.resolve(name))


def _restore_env(declared: Mapping[str, Any], placeholders: Mapping[str, Mapping[str, Env]]) -> None:
    for name, replaced in placeholders.items():
        for attr, placeholder in replaced.items():
            object.__setattr__(declared[name], attr, placeholder)


def _holds_env(value: Any) -> bool:
    """An ``fs.env(...)`` given as a plain resource, or as a value of a plain dict."""
    return isinstance(value, Env) or (type(value) is dict and any(isinstance(v, Env) for v in value.values()))


def _resolve_plain(name: str, value: Any) -> Any:
    """A plain resource as assets receive it, its ``fs.env(...)`` read now like a
    ``fs.Resource``'s attributes: handing assets the placeholder would be a trap."""
    if isinstance(value, Env):
        return value.resolve(name)
    if _holds_env(value):
        return {k: v.resolve(name) if isinstance(v, Env) else v for k, v in value.items()}
    return value


@dataclass(slots=True)
class SetUp:
    """What one start of the resources actor made: live objects and unavailable ones."""

    live: dict[str, Any]
    unavailable: dict[str, str]
    #: per resource, the ``fs.env`` attributes its setup replaced by their values
    placeholders: dict[str, dict[str, Env]] = field(default_factory=dict)


def set_up(declared: Mapping[str, Any]) -> SetUp:
    """Set up every resource in declaration order; a failure tears down those already set
    up (in reverse) and raises ``ResourceError``, unless the resource is optional.

    Each setup reads the ``fs.env`` variables again (``release`` puts the placeholders
    back), so a restart of the resources actor or a second node sees the current values.
    """
    result = SetUp({}, {})
    for name, resource in declared.items():
        if not isinstance(resource, Resource):
            try:
                result.live[name] = _resolve_plain(name, resource)
            except ResourceError:  # a missing variable fails the start, as for a Resource
                release(declared, result)
                raise
            continue
        try:
            _resolve_env(name, resource, result.placeholders.setdefault(name, {}))
            result.live[name] = resource.setup()
        except Exception as exc:
            cause = f"{type(exc).__name__}: {exc}"
            if resource.optional:
                log.warning("resource.unavailable", resource=name, error=cause)
                result.unavailable[name] = cause
                continue
            release(declared, result)
            if isinstance(exc, ResourceError):
                raise
            raise ResourceError(f"resource {name!r} failed to set up: {cause}", resource=name) from exc
    return result


def release(declared: Mapping[str, Any], state: SetUp) -> None:
    """Tear down what ``state`` set up (in reverse) and put its ``fs.env`` placeholders back."""
    tear_down(declared, state.live)
    _restore_env(declared, state.placeholders)


def tear_down(declared: Mapping[str, Any], live: Mapping[str, Any]) -> None:
    """Tear down the set-up resources in reverse declaration order; errors are logged."""
    for name in reversed(list(live)):
        resource = declared.get(name)
        if isinstance(resource, Resource):
            try:
                resource.teardown(live[name])
            except Exception as exc:  # noqa: BLE001 - one failed teardown must not stop the rest
                log.warning("resource.teardown_failed", resource=name, error=f"{type(exc).__name__}: {exc}")


class LiveResources(Mapping[str, Any]):
    """The objects assets receive, replaced whole by the resources actor on each start.

    Only that actor writes it, by swapping its dict in one assignment (atomic under the
    GIL); readers see either the previous set or the new one, never a half-built one.
    """

    __slots__ = ("_live", "_unavailable", "declared", "passed")

    def __init__(self, declared: Mapping[str, Any]) -> None:
        self.declared: Mapping[str, Any] = dict(declared)
        # Until the actor starts, plain objects are visible as they are (no lifecycle;
        # those holding fs.env placeholders only once it has read them).
        self._live: dict[str, Any] = {
            k: v for k, v in declared.items() if not isinstance(v, Resource) and not _holds_env(v)
        }
        self._unavailable: dict[str, str] = {}
        # Pipelines whose ``requires`` all name declared resources (``check_requires``
        # with ``remember=True``, once per pipeline on the jobs path).
        self.passed: weakref.WeakSet[Pipeline] = weakref.WeakSet()

    def publish(self, state: SetUp | None) -> None:
        if state is None:
            self._live, self._unavailable = {}, {}
        else:
            self._live, self._unavailable = dict(state.live), dict(state.unavailable)

    def snapshot(self) -> Mapping[str, Any]:
        """The objects as they are now, read-only, unchanged by a later restart or stop."""
        return MappingProxyType(self._live)

    def unavailable(self) -> dict[str, str]:
        return dict(self._unavailable)

    def __getitem__(self, key: str) -> Any:
        return self._live[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._live)

    def __len__(self) -> int:
        return len(self._live)


def check_resource_instances(resources: Mapping[str, Any]) -> None:
    """``OptionError`` for an ``fs.Resource`` *class* given where an instance belongs.

    ``resources={"wh": Warehouse}`` would otherwise be handed to assets as a plain
    object (the class), never set up, and fail far from the mistake.
    """
    for name, value in resources.items():
        if isinstance(value, type) and issubclass(value, Resource):
            raise OptionError(
                f"resources[{name!r}] is the class {value.__name__}, not an instance: "
                f"pass {value.__name__}(...) so that the node can set it up"
            )


def check_requires(pipeline: Pipeline, resources: Mapping[str, Any], *, remember: bool = False) -> None:
    """``DefinitionError`` naming the asset, the resource and those that exist, if an
    asset requires a resource the node was not started with.

    ``remember=True`` (a job worker, per job) skips a pipeline that passed before.
    """
    live = resources if isinstance(resources, LiveResources) else None
    if remember and live is not None and pipeline in live.passed:
        return
    declared = live.declared if live is not None else resources
    for asset in pipeline.assets():
        for name in pipeline.get(asset).options.requires or ():
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise DefinitionError(
                    f"pipeline {pipeline.name!r}: asset {asset!r} requires the resource {name!r}, "
                    f"which this node was not started with (its resources: {known}); pass it in "
                    "fs.start(resources={...})"
                )
    if remember and live is not None:
        live.passed.add(pipeline)


def required_resources(
    asset: str, requires: tuple[str, ...] | None, resources: Mapping[str, Any]
) -> Mapping[str, Any]:
    """What ``ctx.resources`` holds for an asset: all of them without ``requires``,
    exactly those with it; ``ResourceUnavailableError`` if one of them is unavailable."""
    if requires is None:  # a snapshot: it stays as it was when the asset started
        return resources.snapshot() if isinstance(resources, LiveResources) else resources
    unavailable = resources.unavailable() if isinstance(resources, LiveResources) else {}
    chosen: dict[str, Any] = {}
    for name in requires:
        if name in unavailable or name not in resources:
            cause = unavailable.get(name, "it is not set up")
            raise ResourceUnavailableError(
                f"asset {asset!r} requires the resource {name!r}, which is unavailable: {cause}",
                resource=name,
            )
        chosen[name] = resources[name]
    return chosen
