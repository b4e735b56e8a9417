"""The node's durable-job methods (mixed into ``Node``): ``jobs`` and ``submit``.

``submit`` is overloaded so that, given the asset's function rather than its name, the
handle it returns is ``RunHandle[T]`` with ``T`` the function's return type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload

from flowstone.errors import FlowStoneError

if TYPE_CHECKING:
    from flowstone import partitions
    from flowstone._jobs.api import JobsAPI
    from flowstone._jobs.execute import JobEnv
    from flowstone._jobs.handle import RunHandle
    from flowstone._jobs.records import Unique
    from flowstone._jobs.wiring import JobLayer
    from flowstone._node.config import NodeConfig
    from flowstone._pipeline import Pipeline

__all__ = ["JobsNodeAPI"]

T = TypeVar("T")


class JobsNodeAPI:
    """Mixed into ``Node``: the durable jobs of its database, and ``submit``."""

    _jobs: JobLayer | None
    config: NodeConfig
    run: Callable[..., Any]

    @property
    def jobs(self) -> JobsAPI:
        """Durable jobs on this node's database (``get``, ``list``, ``retry``, ``pause``, ...)."""
        if self._jobs is None:
            raise FlowStoneError(
                "durable jobs need a database: start the node with database_url='sqlite:///flowstone.db' "
                "or a postgresql+psycopg:// URL"
            )
        return self._jobs.api

    def _jobs_env(self) -> JobEnv:
        self.jobs  # noqa: B018 - raises the clear error when there is no database
        assert self._jobs is not None
        return self._jobs.env

    @overload
    def submit(
        self,
        pipeline: Pipeline,
        asset: Callable[..., T],
        *,
        partition: partitions.Partition = None,
        force: bool = False,
        priority: int = 0,
        scheduled_at: datetime | None = None,
        queue: str = "assets",
        unique: Unique | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunHandle[T]: ...
    @overload
    def submit(
        self,
        pipeline: Pipeline,
        asset: str,
        *,
        partition: partitions.Partition = None,
        force: bool = False,
        priority: int = 0,
        scheduled_at: datetime | None = None,
        queue: str = "assets",
        unique: Unique | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunHandle[Any]: ...

    def submit(
        self,
        pipeline: Pipeline,
        asset: str | Callable[..., Any],
        *,
        partition: partitions.Partition = None,
        force: bool = False,
        priority: int = 0,
        scheduled_at: datetime | None = None,
        queue: str = "assets",
        unique: Unique | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RunHandle[Any]:
        """Persist a job that materializes ``asset`` and return its handle at once.

        Any node with a worker for ``queue`` on the same database may run it; it survives
        restarts and retries by the asset's ``fs.Retry`` (or the node's ``job_retry``).
        ``asset`` is a name, or the asset's function for a handle typed to its return.
        On a node started with ``testing="inline"`` the job runs at once, in the caller,
        and is not stored (``flowstone/_jobs/inline.py``).
        """
        if self.config.testing == "inline":
            from flowstone._jobs.inline import run_inline  # noqa: PLC0415 - only tests use it

            return run_inline(self.run, pipeline, pipeline.name_of(asset), partition, force, tags)
        return self.jobs.submit(
            pipeline,
            pipeline.name_of(asset),
            partition=partition,
            force=force,
            priority=priority,
            scheduled_at=scheduled_at,
            queue=queue,
            unique=unique,
            tags=tags,
        )
