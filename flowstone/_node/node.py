"""``Node``: a running FlowStone instance — a supervision tree and the API over it."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, TypeVar, overload

from pykka import ActorDeadError

import supervisors
from flowstone import partitions
from flowstone._admission.gate import Admission
from flowstone._execution.backfill import (
    BackfillOptions,
    BackfillReport,
    PartitionResult,
    run_backfill,
)
from flowstone._execution.declared import backfill_partitions
from flowstone._execution.pool import RunnerPool
from flowstone._execution.run import run_target
from flowstone._execution.runner import runner_spec
from flowstone._jobs.node_api import JobsNodeAPI
from flowstone._node.assembly import decisions_for, default_io, job_layer, start_tree, store_for
from flowstone._node.config import NodeConfig
from flowstone._node.flights import run_shared
from flowstone._node.give_up import GiveUpWatch
from flowstone._node.health import Check, Health, check_health, with_waits
from flowstone._node.isolation import IsolatedPool, asset_caller, isolated_spec
from flowstone._node.lifecycle import LIVE, NodeLifecycle
from flowstone._node.lineage import LineageAPI
from flowstone._node.registry import Register
from flowstone._node.services import Directory, Services
from flowstone._node.values_api import ValuesAPI
from flowstone._pipeline import Pipeline
from flowstone._resources import LiveResources, check_requires
from flowstone._scatter.actor import scatters_spec
from flowstone._scatter.helper import helper_for
from flowstone._scatter.node_api import ScattersAPI
from flowstone._schedules.health import schedule_checks
from flowstone._schedules.node_api import SchedulesAPI
from flowstone._schedules.wiring import build_schedule_layer
from flowstone._staleness import run_stale
from flowstone._store import Store
from flowstone._tags import validate_tags
from flowstone._waits.api import WaitsAPI, await_run
from flowstone._waits.settle import settle_waiting
from flowstone._waits.wiring import new_waits, waits_spec
from flowstone.events import PROCESS_BUS, EventBus
from flowstone.io import IOManager
from supervisors._log import get_logger

__all__ = ["Node"]

T = TypeVar("T")

log = get_logger("flowstone")


class Node(JobsNodeAPI, ValuesAPI, WaitsAPI, SchedulesAPI, ScattersAPI):
    """A running FlowStone node. Start one with ``fs.start(**options)``.

    Its root supervisor is ``rest_for_one`` over ``store → resources → registry →
    lineage → isolated → runners → waits → scatters → jobs → schedules``: the dependency order, so a
    restart of the store restarts everything after it. Two nodes in one process share
    nothing. A node not stopped by ``stop()`` (or ``with``) is stopped when the process
    exits (``_node/lifecycle.py``).
    """

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.id = f"{config.name}-{uuid.uuid4().hex[:8]}"
        self.events = EventBus(parent=PROCESS_BUS)
        # ``is None``, never truthiness: an empty ``fs.io.Memory`` (it has ``__len__``) is falsy.
        self._store: Store = store_for(config) if config.store is None else config.store
        self._io: IOManager = default_io(self._store) if config.io is None else config.io
        self._directory = Directory()
        pool = RunnerPool(config.max_concurrency, self._directory)
        self._waits = new_waits(config, self._store)
        self._services = Services(
            node_id=self.id,
            store=self._store,
            lineage_store=self._store if config.lineage_store is None else config.lineage_store,
            default_io=self._io,
            resources=LiveResources(config.resources),
            events=self.events,
            lineage_failure=config.lineage_failure,
            default_retry=config.retry,
            directory=self._directory,
            pool=pool,
            max_scatter_key_bytes=config.max_scatter_key_bytes,
            scatter_lease=config.scatter_lease,
            scatter_workers=config.max_concurrency,
            waits=self._waits,
            decisions=decisions_for(config, self._store),
            call_asset=asset_caller(config.isolation, IsolatedPool(self._directory.lookup)),
            admission=Admission(getattr(self._store, "limits", None), self.id, config.rescue_after),
        )
        # A materialization in flight gets the shutdown grace, as a job does.
        pool.runner_spec = dataclasses.replace(runner_spec(self._services), shutdown=config.shutdown_grace)
        self._jobs = job_layer(config, self._services, self._store)
        if self._jobs is not None and self._jobs.queues:  # parallel branches run as jobs
            self._services.branch_runs.jobs = self._jobs.api
        run_ended = self._jobs.api.waited_run_ended if self._jobs is not None else None
        self._schedules = build_schedule_layer(config, self._services, self._jobs, self._run_scheduled)
        extra = [isolated_spec(), waits_spec(config, self._services, self._waits, self._jobs, run_ended)]
        queues = self._jobs.queues if self._jobs is not None else {}
        helper = helper_for(config, self._services, queues)
        extra.append(scatters_spec(helper, config.poll_interval, config.shutdown_grace))
        extra += [self._jobs.spec] if self._jobs is not None else []
        extra.append(self._schedules.spec)
        self._give_up = GiveUpWatch(self.id, self.events, config.on_give_up)
        self._root = start_tree(
            config.name, self._services, self._store, self._io, extra, self._give_up.record
        )
        self._directory.root = self._root
        self.lineage = LineageAPI(self._directory.lookup)
        self._lifecycle = NodeLifecycle(
            self.id, self._root, queues, pool, config.shutdown_grace, self._services.branch_runs.halt
        )
        LIVE.add(self._lifecycle)
        self._give_up.watch(self._root, self._lifecycle, pool)
        log.info("node.started", node=self.id)

    def _run_scheduled(self, pipeline: Pipeline, asset: str, partition: partitions.Partition) -> Any:
        return self.run(pipeline, asset, partition=partition)

    # --- lifecycle -----------------------------------------------------------------
    def stop(self, timeout: float | None = None) -> None:
        """Stop the node; it returns within ``shutdown_grace`` (or ``timeout`` if shorter) + 1 s.

        Queues stop claiming; jobs and materializations in flight get that long to finish,
        then are abandoned (a job is left for another node to rescue); then the rest of
        the tree stops, in reverse start order, the store last. Stopping twice is harmless.
        """
        grace = self.config.shutdown_grace if timeout is None else min(timeout, self.config.shutdown_grace)
        deadline = time.monotonic() + grace
        self._lifecycle.stop(deadline)
        self._services.branch_runs.stop(deadline)  # after the runners: a branch cut short ends
        self._waits.watch.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def is_alive(self) -> bool:
        return self._root.is_alive()

    def tree(self) -> supervisors.TreeNode:
        """A snapshot of the node's supervision tree."""
        return self._root.tree()

    def render_tree(self) -> str:
        """The supervision tree drawn like ``pstree``."""
        return supervisors.render_tree(self.tree())

    def health(self) -> Health:
        """The state of every component; never raises."""
        if self._give_up.gave_up is not None:
            return Health("down", {"supervision": Check(False, self._give_up.describe())})
        try:
            queues = self._jobs.checks if self._jobs is not None else None
            extra = schedule_checks(self._schedules, with_waits(self._directory, queues))
            return check_health(self._directory, self.config.health_timeout, extra)
        except Exception as exc:  # noqa: BLE001 - reported to the caller, never swallowed
            return Health("down", {"node": Check(False, f"{type(exc).__name__}: {exc}")})

    def pipelines(self) -> list[str]:
        """Names of the live pipelines this node has run."""
        registry = self._directory.lookup("registry")
        return [] if registry is None else list(registry.ask("names"))

    # --- helpers -------------------------------------------------------------------
    def _register(self, pipeline: Pipeline) -> None:
        """Register before anything of a run is recorded (an ask, not a tell): a release
        for a collected pipeline of the same name is then either handled before the run
        starts or knows of this live one, and never lands in the middle of the run."""
        pipeline.validate()
        check_requires(pipeline, self._services.resources)
        registry = self._directory.lookup("registry")
        if registry is not None:
            with contextlib.suppress(ActorDeadError):
                registry.ask(Register(pipeline.name, weakref.ref(pipeline)))

    # --- running -------------------------------------------------------------------
    @overload
    def run(
        self,
        pipeline: Pipeline,
        asset: Callable[..., T],
        *,
        partition: partitions.Partition = None,
        force: bool = False,
        with_deps: bool = True,
        timeout: float | None = None,
        stale_only: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> T: ...
    @overload
    def run(
        self,
        pipeline: Pipeline,
        asset: str,
        *,
        partition: partitions.Partition = None,
        force: bool = False,
        with_deps: bool = True,
        timeout: float | None = None,
        stale_only: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> Any: ...

    def run(
        self,
        pipeline: Pipeline,
        asset: str | Callable[..., Any],
        *,
        partition: partitions.Partition = None,
        force: bool = False,
        with_deps: bool = True,
        timeout: float | None = None,
        stale_only: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> Any:
        """Materialize ``asset`` (and missing upstream assets) and return its value.

        ``asset`` is a name, or the asset's function: then the value is typed as what the
        function returns (``node.run(pipeline, total)`` is an ``int`` to mypy).

        ``stale_only=True`` re-runs the stale values it needs (and what depends on them),
        leaving fresh ones alone (``node.status(...).stale_reasons`` says why).

        Concurrent calls for the same pipeline, asset and partition share one run: a later
        call waits for the run in flight and returns its value (or raises its error), up
        to its own ``timeout``. ``force=True`` always starts a run of its own.

        ``tags`` are string metadata stored with the run (``ctx.tags``, events, the audit
        log, ``flowstone status --tag``); ``TagError`` for a bad key, value or count.

        Raises:
            AssetNotFoundError: the pipeline has no such asset.
            PartitionError: the partition is not a valid (or declared) partition.
            DependencyNotReadyError: ``with_deps=False`` and an upstream value is missing.
            MaterializationError: an asset failed; ``__cause__`` is its exception.
        """
        pipeline.validate()
        checked = validate_tags(tags)
        check_requires(pipeline, self._services.resources)
        asset = pipeline.name_of(asset)
        pipeline.get(asset)
        if stale_only:
            return run_stale(self._store, self.run, pipeline, asset, partition)

        def run(run_id: str) -> Any:
            started = time.monotonic()
            result = run_target(
                pipeline,
                asset,
                partition,
                self._services,
                force=force,
                with_deps=with_deps,
                timeout=timeout,
                run_id=run_id,
                tags=checked,
            )
            if not result.waiting:
                return result.value
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
            assert result.run_id is not None
            return await_run(self._waits, self._services, pipeline, asset, partition, result.run_id, left)

        registry = self._directory.lookup("registry")
        return run_shared(registry, pipeline, asset, partition, force=force, timeout=timeout, run=run)

    def backfill_iter(
        self,
        pipeline: Pipeline,
        asset: str,
        partitions: Iterable[partitions.Partition] | None = None,
        *,
        parallel: int = 1,
        timeout: float = 1800.0,
        force: bool = False,
        on_error: Literal["continue", "halt"] = "continue",
        progress: Callable[[int, int | None], None] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Iterator[PartitionResult]:
        """Materialize ``asset`` for each partition, yielding a result as each finishes.

        Without ``partitions``, the asset's declared partition set is backfilled. ``tags``
        (see ``run``) are given to every partition's run.
        """
        options = self._backfill_options(parallel, timeout, force, on_error, progress)
        options = dataclasses.replace(options, tags=validate_tags(tags))
        self._register(pipeline)
        items = backfill_partitions(pipeline, asset, partitions)
        results = run_backfill(pipeline, asset, items, options, self._services)
        return settle_waiting(results, self._waits, self._services, pipeline, asset, timeout)

    def backfill(
        self,
        pipeline: Pipeline,
        asset: str,
        partitions: Iterable[partitions.Partition] | None = None,
        *,
        parallel: int = 1,
        timeout: float = 1800.0,
        force: bool = False,
        on_error: Literal["continue", "halt"] = "continue",
        progress: Callable[[int, int | None], None] | None = None,
        durable: bool = False,
        queue: str = "assets",
        tags: Mapping[str, str] | None = None,
    ) -> BackfillReport:
        """Materialize ``asset`` for every partition; counts and failures when done.

        With ``durable=True`` one job per partition is enqueued in bulk, at a lower
        priority than normal runs, and progress is read from the jobs table: any worker on
        the database may run them, and they survive restarts (``parallel`` and ``timeout``
        then do not apply: the queues' concurrency does).

        Without ``partitions``, the asset's declared partition set is backfilled (up to
        now for an open-ended time set); a set or list with a partition outside the
        declared set raises ``PartitionError`` before anything runs.
        """
        if durable:
            return self.jobs.backfill(
                pipeline, asset, partitions, force=force, queue=queue, progress=progress, tags=tags
            )
        report = BackfillReport()
        for result in self.backfill_iter(
            pipeline,
            asset,
            partitions,
            parallel=parallel,
            timeout=timeout,
            force=force,
            on_error=on_error,
            progress=progress,
            tags=tags,
        ):
            report.add(result)
        return report

    def _backfill_options(
        self,
        parallel: int,
        timeout: float,
        force: bool,
        on_error: str,
        progress: Callable[[int, int | None], None] | None,
    ) -> BackfillOptions:
        if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
            raise ValueError(f"parallel must be an int ≥ 1, got {parallel!r}")
        if parallel > self.config.max_parallel:
            log.warning("backfill.parallel_capped", requested=parallel, cap=self.config.max_parallel)
            parallel = self.config.max_parallel
        if not timeout or timeout <= 0:
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        if on_error not in ("continue", "halt"):
            raise ValueError(f"on_error must be 'continue' or 'halt', got {on_error!r}")
        return BackfillOptions(
            parallel=parallel,
            timeout=timeout,
            force=force,
            on_error=on_error,  # type: ignore[arg-type]
            progress=progress,
        )
