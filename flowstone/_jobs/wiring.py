"""Assembling a node's job layer: the ``jobs`` subtree and the ``node.jobs`` API."""

from __future__ import annotations

import contextlib
import json
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

from pykka import ActorDeadError

import supervisors
from flowstone._execution.pool import IdlePool
from flowstone._jobs.api import JobsAPI
from flowstone._jobs.execute import JobEnv
from flowstone._jobs.maintenance import ListenerActor, MaintenanceActor, MaintenanceEnv, libpq_conninfo
from flowstone._jobs.queue import QueueEnv, queue_spec
from flowstone._jobs.queue_checks import QueueChecks
from flowstone._jobs.reference import resolve_reference
from flowstone._jobs.table import JobTable
from flowstone._node.config import NodeConfig
from flowstone._node.registry import LookupReference, Register
from flowstone._node.services import Services
from flowstone._pipeline import Pipeline

__all__ = ["JobLayer", "build_job_layer"]


@dataclass(frozen=True, slots=True)
class JobLayer:
    api: JobsAPI
    spec: supervisors.ChildSpec
    env: JobEnv
    checks: QueueChecks  # node.health()'s checks of the queues
    queues: Mapping[str, QueueEnv] = field(default_factory=dict)  # the queues this node works


def build_job_layer(config: NodeConfig, services: Services, store: object) -> JobLayer:
    """The ``jobs`` child of a node's tree (after the runners) and its API."""
    directory = services.directory
    table = JobTable(store)
    finished = threading.Condition()
    clock = supervisors.SystemClock()

    def register(pipeline: Pipeline, reference: str | None = None) -> None:
        pipeline.validate()
        registry = directory.lookup("registry")
        if registry is not None:  # an ask: registered before anything of its run is recorded
            with contextlib.suppress(ActorDeadError):
                registry.ask(Register(pipeline.name, weakref.ref(pipeline), reference))

    def lookup(reference: str) -> weakref.ReferenceType[Pipeline] | None:
        registry = directory.lookup("registry")
        known: weakref.ReferenceType[Pipeline] | None = (
            registry.ask(LookupReference(reference)) if registry is not None else None
        )
        return known

    def resolve(reference: str) -> Pipeline:
        known = lookup(reference)
        pipeline = known() if known is not None else None
        if pipeline is None:
            pipeline = resolve_reference(reference, config.allow_imports)
            register(pipeline, reference)
        return pipeline

    job_env = JobEnv(
        node_id=services.node_id,
        table=table,
        services=services,
        resolve=resolve,
        lookup=lookup,
        finished=finished,
        shutdown_grace=config.shutdown_grace,
    )
    queues = {
        name: QueueEnv(name, limit, config.poll_interval, job_env, IdlePool(), clock)
        for name, limit in config.queues.items()
        if limit > 0
    }

    def snapshot() -> str | None:
        root = directory.root
        return None if root is None else json.dumps(root.tree(timeout=0.5).to_dict())

    maintenance = MaintenanceEnv(
        node_id=services.node_id,
        name=config.name,
        table=table,
        queues=dict(config.queues),
        rescue_after=config.rescue_after,
        prune_after=config.prune_after,
        clock=clock,
        snapshot=snapshot,
        # Only workers rescue and prune unless asked: a health probe or an application
        # that only submits must never take a live worker's job away.
        upkeep=config.upkeep if config.upkeep is not None else bool(queues),
        prune_more=services.decisions.prune,
        renew_slots=services.admission.renew,  # concurrency= leases, with each heartbeat
    )
    checks = QueueChecks(queues)
    children = [
        supervisors.ChildSpec("maintenance", lambda: checks.track(MaintenanceActor.start(maintenance)))
    ]
    url = getattr(store, "url", "")
    if queues and url.startswith("postgresql"):
        conninfo = libpq_conninfo(url)

        def wake(queue: str) -> None:
            env = queues.get(queue)
            if env is not None and env.producer is not None:
                env.producer.tell("wake")

        children.append(supervisors.ChildSpec("listener", lambda: ListenerActor.start(conninfo, wake)))
    children.extend(queue_spec(env) for env in queues.values())
    spec = supervisors.ChildSpec(
        "jobs",
        lambda: supervisors.Supervisor.start(children, strategy="one_for_one", name="jobs"),
        type="supervisor",
    )
    api = JobsAPI(
        table=table,
        services=services,
        queues=queues,
        finished=finished,
        job_retry=config.job_retry,
        register=register,
    )
    return JobLayer(api, spec, job_env, checks, queues)
