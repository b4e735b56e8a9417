"""How an asset's attempt calls its code: the one hook a new kind of asset plugs into.

A plain asset's attempt calls its function. An asset with one of the options in
``KINDS`` has a body instead, which the runner calls in place of the function and which
says how long an attempt may take and which errors decided the outcome (no retry). The
scheduler and the runner ask this module; they never ask what kind an asset is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context
    from flowstone._execution.task import Task
    from flowstone._node.services import Services

__all__ = ["KINDS", "Body", "attempt_timeout", "body_for", "call", "decided"]


class Body(Protocol):
    def call(self, task: Task, services: Services, ctx: Context, deps: Mapping[str, Any]) -> Any: ...

    def attempt_timeout(self, timeout: float | None) -> float | None: ...

    def decided(self, exc: BaseException) -> bool: ...


def _scatter(option: Any) -> Body:
    from flowstone._scatter.driver import ScatterBody  # noqa: PLC0415 - loaded when used

    return ScatterBody(option)


#: AssetOptions field → the body of an asset that sets it (the first set wins).
KINDS: tuple[tuple[str, Callable[[Any], Body]], ...] = (("scatter", _scatter),)


def body_for(asset: AssetDef) -> Body | None:
    for option, make in KINDS:
        value = getattr(asset.options, option)
        if value is not None:
            return make(value)
    return None


def call(task: Task, services: Services, ctx: Context, deps: dict[str, Any]) -> Any:
    """The attempt's code: the asset's function, or its body."""
    body = body_for(task.asset)
    if body is None:
        return task.asset.fn(ctx, **deps)
    return body.call(task, services, ctx, deps)


def attempt_timeout(asset: AssetDef) -> float | None:
    """How long one attempt of the asset may run (the scheduler's deadline)."""
    body = body_for(asset)
    timeout = asset.options.timeout
    return timeout if body is None else body.attempt_timeout(timeout)


def decided(asset: AssetDef, exc: BaseException) -> bool:
    """Whether ``exc`` decided the attempt's outcome, so that retrying it is pointless."""
    body = body_for(asset)
    return body is not None and body.decided(exc)
