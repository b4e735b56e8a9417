"""Keyword-argument types of ``@pipeline.asset(...)`` and ``@pipeline.router(...)``.

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
    from flowstone._retry import Retry
    from flowstone._routing.options import Fallback
    from flowstone._scatter.options import Rate, Scatter
    from flowstone.io import IOManager

__all__ = ["AssetKwargs", "RouterKwargs"]


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
