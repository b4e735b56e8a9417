"""``NodeConfig``: every option ``fs.start(**options)`` takes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowstone._asset import check_isolation
from flowstone._jobs.reference import check_patterns
from flowstone._node.checks import (
    check_bool,
    check_int,
    check_methods,
    check_names,
    check_seconds,
    check_text,
)
from flowstone._node.give_up import check_give_up
from flowstone._resources import check_resource_instances
from flowstone._retry import Retry
from flowstone._schedules.checks import check_pipelines, check_schedules
from flowstone.errors import OptionError
from flowstone.io import IOManager

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline
    from flowstone._schedules.clock import WallClock
    from flowstone._schedules.schedule import Schedule
    from flowstone._store import LineageStore, Store

__all__ = ["NodeConfig", "default_concurrency"]

#: What a ``store=`` must have at the least: what the node calls to open, check and close
#: it, and to record a run (a test double may leave out the rest).
_STORE_METHODS = ("open", "close", "ping", "start_run", "complete", "fail", "latest")


def default_concurrency() -> int:
    """Twice the CPU count, at least 2."""
    return max(2, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Options of a node.

    Attributes:
        name: a label for logs and the supervision tree.
        database_url: ``sqlite:///path.db`` or ``postgresql+psycopg://...`` for a durable
            store; None for memory. ``fs.start`` reads ``FLOWSTONE_DATABASE_URL`` when the
            argument is not given at all.
        auto_migrate: bring the database schema up to date when the node starts.
        max_value_bytes: the largest encoded value the node's SQL IO manager accepts
            (``fs.io.Files`` takes its own ``max_value_bytes``).
        max_concurrency: runner actors, i.e. assets materialized at once (default 2 × CPUs).
        max_parallel: the cap on a backfill's ``parallel`` (default 2 × CPUs).
        retry: the retry policy of assets without their own (default: no retry).
        lineage_failure: ``"log"`` records and reports lineage failures and carries on;
            ``"fail"`` fails the materialization with ``LineageError``.
        resources: objects handed to assets as ``ctx.resources``.
        io: the default IO manager (default ``fs.io.Memory()``).
        store: the store of records (default: in memory).
        lineage_store: where lineage is written (default: the store).
        health_timeout: seconds each health check may take before it counts as failed.
        queues: job queues this node works, name → concurrency (``{"assets": 8}``); with
            none it only enqueues. Needs a database.
        job_retry: the retry policy of jobs whose asset has none.
        rescue_after: seconds this node may go without a heartbeat before another node gives
            its executing jobs back (it heartbeats every ``rescue_after / 4``, and writes
            this value with each heartbeat: every node judges it by its own setting).
        prune_after: seconds after which ended jobs are deleted.
        shutdown_grace: seconds a stopping node gives the jobs and materializations in
            flight before it abandons them; the stop ends at most 1 s later.
        poll_interval: seconds between claims when nothing wakes a queue.
        memory_records: without a database, how many asset/partition records the node keeps
            per pipeline (the oldest are forgotten, and recomputed if needed again).
        connect_timeout: seconds to establish a connection to PostgreSQL before the
            operation fails with ``StoreUnavailableError`` (whole seconds, at least 2, as
            libpq counts them). SQLite opens a local file and has no such wait.
        statement_timeout: seconds one statement may take. PostgreSQL cancels a statement
            that runs (or waits for a lock) longer, and drops a connection whose network
            stays silent that long (``tcp_user_timeout``, keepalives); SQLite waits that long
            for another process's write lock (its busy timeout). Either way the operation
            fails with ``StoreUnavailableError``.
        upkeep: whether this node rescues the jobs of nodes that stopped heart-beating and
            prunes old jobs (taking the ``pruner`` lease). None (the default): only if it
            works a queue, so that a health probe, an inspection command or an application
            that only submits never takes a worker's job away.
        allow_imports: the modules this node's workers may import to resolve a job's
            pipeline, as patterns (``"mypipes"`` allows ``mypipes`` and the modules under
            it; ``*`` wildcards); a job naming another module is discarded before it is
            imported. None (the default) allows any importable module; ``flowstone
            worker`` always passes a list (its ``--import`` modules' packages and
            ``--allow-import``).
        max_scatter_key_bytes: the largest encoded scatter key of an asset without its own
            ``max_key_bytes`` (``fs.Scatter``).
        scatter_lease: seconds a scatter key stays leased to this node without a renewal
            (renewed every third of it while the key runs): after a crash, the keys it was
            running are run elsewhere once their lease has run out.
        signal_secret: the secret gate tokens are signed with (at least 16 bytes). None: the
            ``FLOWSTONE_SIGNAL_SECRET`` environment variable, else a 32-byte secret generated
            once and kept in the database (per node without one). Never shown in ``repr``.
        previous_signal_secrets: older secrets whose tokens are still accepted (rotation).
        max_signal_bytes: the largest encoded signal payload ``node.signal`` accepts.
        wait_tick: seconds between this node's looks for due wait timeouts and waits that
            another process resolved (PostgreSQL also wakes it by LISTEN/NOTIFY).
        route_decisions: what becomes of routers' decisions (docs/routing.md): ``"run"``
            deletes a run's decisions when it ends, ``"keep"`` keeps them for
            ``route_decision_ttl`` seconds (the pruner deletes older ones), ``"none"``
            keeps them only in memory while the run goes on.
        route_decision_ttl: seconds ``"keep"`` keeps a decision (default 7 days).
        on_give_up: what the node does when its root supervisor gives up (restart
            intensity exceeded): ``"stop"`` ends the node (health ``down``, runs raise);
            ``"exit"`` also ends the process with status 70 after a clean stop, so that
            an orchestrator restarts it (``flowstone worker``'s default).
        isolation: where assets without their own ``isolation`` run: ``"thread"`` (a
            runner thread) or ``"process"`` (a supervised worker process).
        schedules: the ``fs.Schedule``s this node carries (more with ``add_schedule``).
        pipelines: pipelines whose sensors this node polls (besides those it registers).
        clock: the wall clock of schedules and sensors (``fs.testing.ManualClock`` in
            tests); None: real time.
        testing: ``"inline"`` makes ``node.submit`` run the job at once in the caller,
            without storing it (docs/testing.md); None: jobs are stored and run by workers.
    """

    name: str = "flowstone"
    database_url: str | None = None
    auto_migrate: bool = True
    max_value_bytes: int = 64 * 1024 * 1024
    max_concurrency: int = field(default_factory=default_concurrency)
    max_parallel: int = field(default_factory=default_concurrency)
    retry: Retry = field(default_factory=Retry)
    lineage_failure: Literal["log", "fail"] = "log"
    resources: Mapping[str, Any] = field(default_factory=dict)
    io: IOManager | None = None
    store: Store | None = None
    lineage_store: LineageStore | None = None
    health_timeout: float = 2.0
    memory_records: int = 10_000
    queues: Mapping[str, int] = field(default_factory=dict)
    job_retry: Retry = field(
        default_factory=lambda: Retry(
            max_attempts=5, backoff="exponential", base_delay=15.0, max_delay=3600.0, jitter=0.1
        )
    )
    rescue_after: float = 60.0
    prune_after: float = 7 * 86400.0
    shutdown_grace: float = 15.0
    poll_interval: float = 1.0
    connect_timeout: float = 10.0
    statement_timeout: float = 30.0
    upkeep: bool | None = None
    allow_imports: tuple[str, ...] | None = None
    max_scatter_key_bytes: int = 4096
    scatter_lease: float = 15.0
    signal_secret: str | bytes | None = field(default=None, repr=False)
    previous_signal_secrets: tuple[str | bytes, ...] = field(default=(), repr=False)
    max_signal_bytes: int = 1024 * 1024
    wait_tick: float = 0.5
    route_decisions: Literal["run", "keep", "none"] = "run"
    route_decision_ttl: float = 7 * 86400.0
    on_give_up: Literal["stop", "exit"] = "stop"
    isolation: Literal["thread", "process"] = "thread"
    schedules: tuple[Schedule, ...] = ()
    pipelines: tuple[Pipeline, ...] = ()
    clock: WallClock | None = None
    testing: Literal["inline"] | None = None

    def __post_init__(self) -> None:
        check_text("name", self.name)
        if self.database_url is not None:
            check_text("database_url", self.database_url)
        check_bool("auto_migrate", self.auto_migrate)
        for name in (
            "max_value_bytes",
            "max_concurrency",
            "max_parallel",
            "memory_records",
            "max_scatter_key_bytes",
        ):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("retry", "job_retry"):
            if not isinstance(getattr(self, name), Retry):
                raise OptionError(f"{name} must be a flowstone.Retry, got {getattr(self, name)!r}")
        if self.lineage_failure not in ("log", "fail"):
            raise OptionError(f"lineage_failure must be 'log' or 'fail', got {self.lineage_failure!r}")
        check_names("resources", self.resources)
        check_resource_instances(self.resources)
        for queue, limit in check_names("queues", self.queues).items():
            check_int(f"queues[{queue!r}]", limit, minimum=0)
        if self.io is not None and not isinstance(self.io, IOManager):
            raise OptionError(f"io must be an IO manager (see flowstone.io), got {self.io!r}")
        check_methods("store", self.store, _STORE_METHODS, "a store (see flowstone/_store/base.py)")
        check_methods("lineage_store", self.lineage_store, ("record_lineage",), "a lineage store")
        for name in (
            "rescue_after",
            "prune_after",
            "shutdown_grace",
            "poll_interval",
            "health_timeout",
            "scatter_lease",
        ):
            check_seconds(name, getattr(self, name))
        if self.queues and self.database_url is None and self.store is None:
            raise OptionError(
                "job queues need a database: pass database_url='sqlite:///flowstone.db' (or postgresql)"
            )
        if self.upkeep is not None and not isinstance(self.upkeep, bool):
            raise OptionError(
                f"upkeep must be True, False or None (if it works a queue), got {self.upkeep!r}"
            )
        _check_imports(self)
        for name in ("connect_timeout", "statement_timeout"):
            check_seconds(name, getattr(self, name))
        _check_waits(self)
        _check_routing(self)
        check_give_up(self.on_give_up)
        check_isolation("isolation", self.isolation)
        object.__setattr__(self, "schedules", check_schedules(self.schedules))
        object.__setattr__(self, "pipelines", check_pipelines(self.pipelines))
        check_methods("clock", self.clock, ("now", "call_at"), "a wall clock such as fs.testing.ManualClock")
        if self.testing not in (None, "inline"):
            raise OptionError(f"testing must be None or 'inline', got {self.testing!r}")

    def __repr__(self) -> str:
        # The database URL's password is masked, as in every message and log line.
        hidden = ("signal_secret", "previous_signal_secrets")
        shown = {name: getattr(self, name) for name in self.__dataclass_fields__ if name not in hidden}
        if self.database_url is not None:
            from flowstone._store.sql.engine import mask  # noqa: PLC0415 - SQLAlchemy loads lazily

            shown["database_url"] = mask(self.database_url)
        return f"NodeConfig({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


def _check_routing(config: NodeConfig) -> None:
    policy = config.route_decisions
    if not isinstance(policy, str):
        raise OptionError(f"route_decisions must be 'run', 'keep' or 'none', got {policy!r}")
    if policy not in ("run", "keep", "none"):
        raise OptionError(f"route_decisions must be 'run', 'keep' or 'none', got {policy!r}")
    check_seconds("route_decision_ttl", config.route_decision_ttl)


def _check_imports(config: NodeConfig) -> None:
    if config.allow_imports is None:
        return
    if isinstance(config.allow_imports, str) or not isinstance(config.allow_imports, Iterable):
        raise OptionError(
            f"allow_imports must be None or a sequence of module patterns such as "
            f"('mypipes',), got {config.allow_imports!r}"
        )
    object.__setattr__(config, "allow_imports", check_patterns(config.allow_imports, "allow_imports"))


def _check_waits(config: NodeConfig) -> None:
    from flowstone._waits.tokens import as_secret  # noqa: PLC0415

    if config.signal_secret is not None:
        if not isinstance(config.signal_secret, str | bytes):
            raise OptionError("signal_secret must be a str or bytes")
        try:
            as_secret(config.signal_secret)
        except ValueError as exc:
            raise OptionError(f"signal_secret: {exc}") from None
    previous = config.previous_signal_secrets
    if isinstance(previous, str | bytes) or not isinstance(previous, Iterable):
        raise OptionError("previous_signal_secrets must be a sequence of secrets")
    object.__setattr__(config, "previous_signal_secrets", tuple(previous))
    for secret in config.previous_signal_secrets:
        if not isinstance(secret, str | bytes):
            raise TypeError("previous_signal_secrets must hold str or bytes secrets")
        try:
            as_secret(secret)
        except ValueError as exc:
            raise ValueError(f"previous_signal_secrets: {exc}") from None
    check_int("max_signal_bytes", config.max_signal_bytes, minimum=1)
    check_seconds("wait_tick", config.wait_tick)
