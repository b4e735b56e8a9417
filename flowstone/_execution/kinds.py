"""The hook through which a kind of asset other than a plain one plugs into a run.

The runner and the scheduler know one protocol, never the kinds: the runner asks an
asset's kind to ``call`` it (a plain asset: its function) and whether an error it
raised ``decided`` the outcome (no retry); the scheduler asks it how long an attempt may
take (``attempt_timeout``), which assets of the run its value rules out (``not_run``),
which it then skips, and tells the kind when a run it took part in has ended
(``run_ended``). Routers (``flowstone/_routing/``) and scatters (``flowstone/_scatter/``)
are such kinds; a kind is declared by its decorator (``@pipeline.router``) or given by
an asset option (``scatter=``, ``kind_of``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from flowstone.errors import DefinitionError

if TYPE_CHECKING:
    from flowstone._context import Context
    from flowstone._execution.task import Task
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["PLAIN", "AssetKind", "Plain", "kind_of"]


class AssetKind(Protocol):
    """How one kind of asset runs; ``label`` names it in graphs and ``asset_info``."""

    label: str
    #: Whether its value may rule other assets out of a run (then ``not_run`` is asked,
    #: also for a stored value when the asset itself is not in a run's plan).
    rules_out: bool
    #: Whether ``run_ended`` must be called for a run in which it ran.
    cleans_up: bool

    def call(self, task: Task, services: Services, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        """Run the asset for ``task``; its return value is the asset's value."""

    def attempt_timeout(self, timeout: float | None) -> float | None:
        """How long one attempt may run, given the asset's ``timeout`` option."""

    def decided(self, exc: BaseException) -> bool:
        """Whether ``exc`` decided the attempt's outcome, so that retrying it is pointless."""

    def not_run(self, pipeline: Pipeline, asset: str, value: Any) -> tuple[str, ...]:
        """The assets that ``value`` (the asset's) rules out: they are skipped."""

    def run_ended(self, services: Services, run_id: str) -> None:
        """A run in which the asset ran has ended (succeeded or not)."""


class Plain:
    """A plain asset: its function's return value is its value."""

    __slots__ = ()
    label = "asset"
    rules_out = False
    cleans_up = False

    def call(self, task: Task, services: Services, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        return services.call_asset(task.asset, ctx, kwargs)  # on this thread, or isolated

    def attempt_timeout(self, timeout: float | None) -> float | None:
        return timeout

    def decided(self, exc: BaseException) -> bool:
        return getattr(exc, "retryable", True) is False

    def not_run(self, pipeline: Pipeline, asset: str, value: Any) -> tuple[str, ...]:
        return ()

    def run_ended(self, services: Services, run_id: str) -> None:
        return None


PLAIN: AssetKind = Plain()


def kind_of(declared: AssetKind, options: Any, where: str) -> AssetKind:
    """The kind of an asset: its decorator's (``declared``), or the one an option gives
    (``scatter=``: ``flowstone/_scatter/``); a plain asset otherwise."""
    if options.scatter is None:
        return declared
    if declared is not PLAIN:
        raise DefinitionError(f"{where}: a {declared.label} cannot scatter; scatter in an asset it feeds")
    from flowstone._scatter.driver import ScatterBody  # noqa: PLC0415 - loaded when used

    return ScatterBody(options.scatter)
