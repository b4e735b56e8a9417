"""Assembling a node: its store, default IO manager, job layer and supervision tree."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import supervisors
from flowstone._node.actors import ResourcesActor, StoreActor
from flowstone._node.config import NodeConfig
from flowstone._node.lineage import LineageActor
from flowstone._node.registry import RegistryActor
from flowstone._node.services import Services
from flowstone._resources import LiveResources
from flowstone._routing.decisions import RouteDecisions
from flowstone._store import MemoryStore, Store
from flowstone.errors import ResourceError, StoreUnavailableError
from flowstone.io import IOManager, Memory

if TYPE_CHECKING:
    from flowstone._jobs.wiring import JobLayer

__all__ = ["TREE_ORDER", "default_io", "in_tree_order", "job_layer", "start_tree", "store_for"]

#: The root's children in start order, each depending only on those before it: started in
#: this order, stopped in reverse, and (``rest_for_one``) a restart of one restarts those
#: after it. The one place the order is written; ``jobs`` is there with a database only;
#: ``schedules`` (and its ticks' runs) come after the jobs they enqueue; ``scatters`` (the
#: keys of scatters suspended on their barrier) after ``waits``, which their settling resumes.
TREE_ORDER: tuple[str, ...] = (
    "store",
    "resources",
    "registry",
    "lineage",
    "isolated",
    "runners",
    "waits",
    "scatters",
    "jobs",
    "schedules",
)


def store_for(config: NodeConfig) -> Store:
    """The store a ``database_url`` asks for: in memory without one."""
    if config.database_url is None:
        return MemoryStore(max_records=config.memory_records)
    from flowstone._store.sql import SQLStore  # noqa: PLC0415 - SQLAlchemy loads only for a database

    return SQLStore(
        config.database_url,
        auto_migrate=config.auto_migrate,
        max_value_bytes=config.max_value_bytes,
        connect_timeout=config.connect_timeout,
        statement_timeout=config.statement_timeout,
    )


def decisions_for(config: NodeConfig, store: Store) -> RouteDecisions:
    """Routers' decisions under the node's policy: in the database when there is one."""
    table = None
    if hasattr(store, "values") and config.route_decisions != "none":
        from flowstone._routing.sql import SQLDecisions  # noqa: PLC0415 - SQLAlchemy loads lazily

        table = SQLDecisions(store)
    return RouteDecisions(config.route_decisions, config.route_decision_ttl, table)


def default_io(store: Store) -> IOManager:
    """Values live in the database when there is one, else in memory."""
    bind = getattr(store, "values", None)
    return Memory() if bind is None else bind()


def job_layer(config: NodeConfig, services: Services, store: Store) -> JobLayer | None:
    """The durable-jobs subtree and API, for a node with a database."""
    if not hasattr(store, "values"):  # jobs live in the SQL store's database
        return None
    from flowstone._jobs.wiring import build_job_layer  # noqa: PLC0415 - SQLAlchemy loads lazily

    return build_job_layer(config, services, store)


def _release(store: Store, io: IOManager, name: str) -> None:
    store.release(name)
    io.release(name)


def in_tree_order(specs: list[supervisors.ChildSpec]) -> list[supervisors.ChildSpec]:
    """``specs`` in ``TREE_ORDER``; ``ValueError`` for a child the order does not place."""
    by_id = {spec.id: spec for spec in specs}
    unplaced = sorted(set(by_id) - set(TREE_ORDER))
    if unplaced or len(by_id) != len(specs):
        raise ValueError(f"node children {unplaced or 'repeated'}: each must appear once in TREE_ORDER")
    return [by_id[child] for child in TREE_ORDER if child in by_id]


def start_tree(
    name: str,
    services: Services,
    store: Store,
    io: IOManager,
    extra: list[supervisors.ChildSpec],
    on_give_up: Callable[[supervisors.GaveUp], None] | None = None,
) -> supervisors.SupervisorRef:
    """Start the node's root supervisor; ``StoreUnavailableError`` if the store cannot open.

    Its children are started in ``TREE_ORDER`` under ``rest_for_one``; ``on_give_up`` hears
    it reach its restart intensity (``_node/give_up.py``).
    """

    def start_runners() -> supervisors.SupervisorRef:
        runners = supervisors.DynamicSupervisor.start(name="runners", max_restarts=10, max_seconds=10.0)
        assert services.pool.runner_spec is not None
        for _ in range(services.pool.size):
            runners.start_child(services.pool.runner_spec)
        return runners

    specs = [
        # A store that cannot reconnect is retried with growing delays, not in a burst
        # that would exhaust the root's restart intensity while the database is down.
        supervisors.ChildSpec(
            "store", lambda: StoreActor.start(store), backoff=supervisors.Backoff(initial=0.5, max=30.0)
        ),
        # So is a resource whose setup fails on a restart (its database is down): a setup
        # that keeps failing must not use up the root's intensity in a burst and stop the node.
        supervisors.ChildSpec(
            "resources",
            lambda: ResourcesActor.start(_live(services)),
            backoff=supervisors.Backoff(initial=0.1, max=30.0),
        ),
        supervisors.ChildSpec(
            "registry", lambda: RegistryActor.start(lambda name: _release(store, io, name))
        ),
        supervisors.ChildSpec("lineage", lambda: LineageActor.start(services.lineage_store)),
        supervisors.ChildSpec("runners", start_runners, type="supervisor"),
    ]
    specs = in_tree_order([*specs, *extra])
    try:
        return supervisors.Supervisor.start(
            specs,
            strategy="rest_for_one",
            max_restarts=10,
            max_seconds=60.0,
            name=f"node:{name}",
            on_give_up=on_give_up,
        )
    except supervisors.StartChildError as exc:
        cause = exc.__cause__
        if isinstance(cause, ResourceError):  # names the resource and the variable or cause
            # Raised as it is, keeping its own cause (the setup's error), not the supervisor's.
            cause.__suppress_context__ = True
            raise cause  # noqa: B904 - its __cause__ is the resource's own error
        if isinstance(cause, StoreUnavailableError):  # SchemaVersionError included
            raise cause from None
        if exc.child_id == "store" and isinstance(cause, Exception):
            # Whatever else stops a store from opening, the caller gets the typed error
            # the docs promise, with the original as its cause.
            raise StoreUnavailableError(
                f"cannot open the store {store!r}: {type(cause).__name__}: {cause}"
            ) from cause
        raise


def _live(services: Services) -> LiveResources:
    """The node's live resources (a ``Services`` built by hand may hold a plain mapping)."""
    resources = services.resources
    return resources if isinstance(resources, LiveResources) else LiveResources(resources)
