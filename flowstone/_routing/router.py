"""The router kind of asset: its function chooses a branch, and the others are skipped.

A router's value is the name of the branch it took (None for none). It is decided once
per (run, router, partition) through the node's ``RouteDecisions``: an attempt that
finds a decision kept for its run takes that branch without calling the function again.
The branches it did not take are ruled out of the run (``not_run``); the scheduler skips
them and whatever needs them (``flowstone/_execution/skips.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowstone import partitions
from flowstone._jobs.records import Discard, Snooze
from flowstone._routing.decisions import Decision
from flowstone._routing.options import Fallback, RouterOptions
from flowstone.errors import RouteError

if TYPE_CHECKING:
    from flowstone._context import Context
    from flowstone._execution.task import Task
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["Router"]


class Router:
    """The ``AssetKind`` of ``@pipeline.router``."""

    __slots__ = ("options",)
    label = "router"
    rules_out = True
    cleans_up = True

    def __init__(self, options: RouterOptions) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"Router(branches={self.options.branches!r}, default={self.options.default!r})"

    def call(self, task: Task, services: Services, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        def choose() -> Decision:
            return self._choose(task, services, ctx, kwargs)

        decision = services.decisions.decide(task.run_id, task.asset.name, task.partition_key, choose)
        ctx.log.info(
            "route.decided", branch=decision.branch, fallback=decision.fallback, error=decision.error
        )
        if services.events.active:
            # The event types load with the node's bus, not with `import flowstone` (issue 22).
            from flowstone.events import RouteDecided  # noqa: PLC0415

            services.events.emit(
                RouteDecided(
                    task.pipeline,
                    task.asset.name,
                    task.partition,
                    task.run_id,
                    decision.branch,
                    decision.fallback,
                    decision.error,
                )
            )
        return decision.branch

    def attempt_timeout(self, timeout: float | None) -> float | None:
        return timeout

    def decided(self, exc: BaseException) -> bool:
        return isinstance(exc, RouteError)

    def not_run(self, pipeline: Pipeline, asset: str, value: Any) -> tuple[str, ...]:
        return tuple(branch for branch in self.options.branches if branch != value)

    def run_ended(self, services: Services, run_id: str) -> None:
        services.decisions.run_ended(run_id)

    def _choose(self, task: Task, services: Services, ctx: Context, kwargs: Mapping[str, Any]) -> Decision:
        options = self.options

        def decided(branch: str | None, error: str | None = None) -> Decision:
            return Decision(
                run_id=task.run_id,
                router=task.asset.name,
                partition_key=task.partition_key,
                pipeline=task.pipeline,
                branch=branch,
                at=services.decisions.now(),
                fallback=error is not None,
                error=error,
            )

        try:
            value = task.asset.fn(ctx, **kwargs)
        except (Snooze, Discard):
            raise
        except Exception as exc:
            if isinstance(options.on_error, Fallback):
                ctx.log.warning("route.fallback", branch=options.on_error.branch, error=_describe(exc))
                return decided(options.on_error.branch, _describe(exc))
            raise
        if value is None:
            return decided(options.default)
        if isinstance(value, str) and value in options.branches:
            return decided(value)
        where = "" if task.partition is None else f", partition {partitions.describe(task.partition)!r}"
        raise RouteError(
            f"router {task.asset.name!r}{where} (pipeline {task.pipeline!r}, run {task.run_id}) returned "
            f"{value!r}, which is not one of its branches {options.branches!r}; return one of them, "
            "or None for the default",
            asset=task.asset.name,
            partition=task.partition,
            run_id=task.run_id,
            value=value,
            branches=options.branches,
        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
