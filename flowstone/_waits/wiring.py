"""Assembling a node's waits: the wait store, the ``waits`` child and its resumer."""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError

import supervisors
from flowstone._jobs.reference import resolve_reference
from flowstone._node.registry import Lookup, Register
from flowstone._waits.actor import WaitsActor, WaitsEnv
from flowstone._waits.resume import Resolve, Resumer, RunEnded
from flowstone._waits.runtime import Waits, WaitSettings, wait_store_for
from supervisors._log import get_logger

if TYPE_CHECKING:
    from flowstone._node.config import NodeConfig
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["new_waits", "waits_spec"]

log = get_logger("flowstone")


def new_waits(config: NodeConfig, store: object) -> Waits:
    settings = WaitSettings(
        signal_secret=config.signal_secret,
        previous_signal_secrets=config.previous_signal_secrets,
        max_signal_bytes=config.max_signal_bytes,
        wait_tick=config.wait_tick,
    )
    return Waits(wait_store_for(store), settings)


def _resolver(config: NodeConfig, services: Services, jobs_resolve: Any) -> Resolve:
    def resolve(name: str, reference: str | None) -> Pipeline | None:
        registry = services.directory.lookup("registry")
        if registry is not None:
            with contextlib.suppress(ActorDeadError):
                known = registry.ask(Lookup(name))
                pipeline: Pipeline | None = known() if known is not None else None
                if pipeline is not None:
                    return pipeline
        if reference is None:
            return None
        try:
            if jobs_resolve is not None:
                resolved: Pipeline = jobs_resolve(reference)
                return resolved
            resolved = resolve_reference(reference, config.allow_imports)
        except Exception as exc:  # noqa: BLE001 - this node cannot continue it: another may
            log.info("waits.pipeline_unresolved", pipeline=name, reference=reference, error=str(exc))
            return None
        if registry is not None:
            with contextlib.suppress(ActorDeadError):
                registry.ask(Register(resolved.name, weakref.ref(resolved), reference))
        return resolved

    return resolve


def waits_spec(
    config: NodeConfig, services: Services, waits: Waits, jobs: Any, run_ended: RunEnded | None
) -> supervisors.ChildSpec:
    """The node's ``waits`` child (after the runners: a resume needs them)."""
    resolve = _resolver(config, services, None if jobs is None else jobs.env.resolve)
    lease = None
    listen = None
    upkeep = config.upkeep if config.upkeep is not None else any(n > 0 for n in config.queues.values())
    if jobs is not None and upkeep:
        table = jobs.env.table

        def lease_for(_ttl: float) -> bool:
            # The node holding the jobs' upkeep lease (``pruner``, renewed by its
            # maintenance tick) fires every due timeout: one node at a time, no lease of its own.
            return bool(table.holds_lease("pruner", services.node_id))

        lease = lease_for
    if jobs is not None:
        url = getattr(services.store, "url", "")
        if url.startswith("postgresql"):
            from flowstone._jobs.maintenance import libpq_conninfo  # noqa: PLC0415

            listen = libpq_conninfo(url)

    def start() -> Any:
        works_jobs = jobs is not None and bool(jobs.queues)
        resumer = Resumer(
            waits, services, resolve, max(1, services.pool.size), run_ended, works_jobs=works_jobs
        )
        waits.bind(services, resumer)
        env = WaitsEnv(
            waits=waits,
            resumer=resumer,
            tick=config.wait_tick,
            clock=supervisors.SystemClock(),
            lease=lease,
            listen=listen,
            everyone=jobs is None or upkeep,
        )
        return WaitsActor.start(env)

    return supervisors.ChildSpec("waits", start)
