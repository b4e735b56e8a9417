"""The database schema: SQLAlchemy Core tables, one ``MetaData``, names prefixed ``flowstone_``.

Migrations (``migrations/versions``) create exactly these tables; a test upgrades an
empty SQLite and PostgreSQL database and compares the result with this module.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

__all__ = [
    "CLAIMABLE",
    "audit_log",
    "jobs",
    "leases",
    "lineage",
    "materializations",
    "metadata",
    "nodes",
    "partition_states",
    "route_decisions",
    "runs",
    "scatter_units",
    "scatters",
    "settings",
    "schedules",
    "sensors",
    "values",
    "waits",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

NAME = 200  # asset and pipeline names
KEY = 1024  # a serialized partition is at most 1,024 bytes (flowstone.partitions)
Timestamp = DateTime(timezone=True)

runs = Table(
    "flowstone_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pipeline", String(NAME), nullable=False),
    Column("asset", String(NAME), nullable=False),
    Column("partition_key", String(KEY), nullable=False),
    Column("status", String(16), nullable=False),
    Column("options", Text, nullable=False, default="{}"),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    Column("error", Text),
    Column("tags", Text, nullable=False, default="{}", server_default="{}"),  # JSON (issue 19)
    Index("ix_flowstone_runs_target", "pipeline", "asset", "partition_key"),
)

materializations = Table(
    "flowstone_materializations",
    metadata,
    Column("id", Integer().with_variant(BigInteger, "postgresql"), primary_key=True, autoincrement=True),
    Column("pipeline", String(NAME), nullable=False),
    Column("asset", String(NAME), nullable=False),
    Column("partition_key", String(KEY), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("started_at", Timestamp),
    Column("finished_at", Timestamp),
    Column("duration_ms", Float),
    Column("error", Text),
    Column("code_version", String(64)),  # 0009: the asset's code when it completed
    UniqueConstraint(
        "pipeline", "asset", "partition_key", "run_id", name="uq_flowstone_materializations_key"
    ),
    Index("ix_flowstone_materializations_latest", "pipeline", "asset", "partition_key", "id"),
)

#: 0011: the newest state of each asset and partition (the record with the highest id),
#: kept by database triggers on ``flowstone_materializations`` in the transaction that
#: writes the record, so that the two never disagree; ``node.partition_status`` counts
#: and lists from it without reading every record (``overview.py``).
partition_states = Table(
    "flowstone_partition_states",
    metadata,
    Column("pipeline", String(NAME), primary_key=True),
    Column("asset", String(NAME), primary_key=True),
    Column("partition_key", String(KEY), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("record_id", Integer().with_variant(BigInteger, "postgresql"), nullable=False),
    Index("ix_flowstone_partition_states_status", "pipeline", "asset", "status", "partition_key"),
)

lineage = Table(
    "flowstone_lineage",
    metadata,
    Column("id", Integer().with_variant(BigInteger, "postgresql"), primary_key=True, autoincrement=True),
    Column("pipeline", String(NAME), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("asset", String(NAME), nullable=False),
    Column("partition_key", String(KEY), nullable=False),
    Column("upstream_asset", String(NAME), nullable=False),
    Column("upstream_partition_key", String(KEY), nullable=False),
    # 0012: the data version of the upstream value read (the run that materialized it),
    # filled by a trigger from the upstream's newest completed record as the edge is written.
    Column("upstream_run_id", String(64)),
    Index("ix_flowstone_lineage_up", "pipeline", "asset", "partition_key"),
    Index("ix_flowstone_lineage_down", "pipeline", "upstream_asset", "upstream_partition_key"),
)

values = Table(
    "flowstone_values",
    metadata,
    Column("pipeline", String(NAME), primary_key=True),
    Column("asset", String(NAME), primary_key=True),
    Column("partition_key", String(KEY), primary_key=True),
    Column("format", String(16), nullable=False),
    Column("data", LargeBinary),
    Column("data_json", Text),
    Column("size", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

audit_log = Table(
    "flowstone_audit_log",
    metadata,
    Column("id", Integer().with_variant(BigInteger, "postgresql"), primary_key=True, autoincrement=True),
    Column("at", Timestamp, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("actor", String(NAME), nullable=False),
    Column("resource", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("details", Text, nullable=False, default="{}"),
    Index("ix_flowstone_audit_log_at", "at"),
)

#: The job states a claim takes from (as SQL, to match the partial index's predicate).
CLAIMABLE = text("state IN ('available', 'scheduled', 'retryable')")

jobs = Table(
    "flowstone_jobs",
    metadata,
    Column("id", Integer().with_variant(BigInteger, "postgresql"), primary_key=True, autoincrement=True),
    Column("state", String(16), nullable=False),
    Column("queue", String(NAME), nullable=False),
    Column("pipeline_ref", String(500), nullable=False),
    Column("pipeline", String(NAME), nullable=False),
    Column("asset", String(NAME), nullable=False),
    Column("partition_key", String(KEY), nullable=False),
    Column("options", Text, nullable=False, default="{}"),
    Column("priority", Integer, nullable=False, default=0),
    Column("attempt", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("snoozed", Integer, nullable=False, default=0),
    Column("errors", Text, nullable=False, default="[]"),
    Column("unique_key", String(128)),
    Column("inserted_at", Timestamp, nullable=False),
    Column("scheduled_at", Timestamp, nullable=False),
    Column("attempted_at", Timestamp),
    Column("attempted_by", String(NAME)),
    Column("completed_at", Timestamp),
    Column("discarded_at", Timestamp),
    Column("cancelled_at", Timestamp),
    Column("run_id", String(64)),
    UniqueConstraint("unique_key", name="uq_flowstone_jobs_unique_key"),
    # The claimable rows only, in claim order: a claim stops at the first due job.
    Index(
        "ix_flowstone_jobs_due",
        "queue",
        "priority",
        "scheduled_at",
        "id",
        postgresql_where=CLAIMABLE,
        sqlite_where=CLAIMABLE,
    ),
    Index("ix_flowstone_jobs_owner", "state", "attempted_by"),
)

nodes = Table(
    "flowstone_nodes",
    metadata,
    Column("node_id", String(NAME), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("hostname", String(NAME), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("heartbeat_at", Timestamp, nullable=False),
    Column("queues", Text, nullable=False, default="{}"),
    Column("tree", Text),
    # The node's own rescue_after: it is dead when its heartbeat is older than this, whoever
    # judges (NULL: written by a version that did not record it).
    Column("rescue_after", Float),
)

leases = Table(
    "flowstone_leases",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("holder", String(NAME), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
)

#: A scatter asset of a run: how far its keys were read, and whether it has ended.
scatters = Table(
    "flowstone_scatters",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("asset", String(NAME), primary_key=True),
    Column("pipeline", String(NAME), nullable=False),
    Column("partition_key", String(KEY), nullable=False),
    Column("state", String(16), nullable=False),
    Column("cursor", LargeBinary),
    Column("next_position", BigInteger, nullable=False, default=0),
    Column("expanded", Integer, nullable=False, default=0),
    Column("total", BigInteger),
    # Epoch seconds: compared with the claimer's clock, never a database's NOW().
    Column("next_start_at", Float, nullable=False, default=0.0),
    # How another worker imports the pipeline to help run the keys (None: it cannot).
    Column("pipeline_ref", String(500)),
    Index("ix_flowstone_scatters_target", "pipeline", "asset", "partition_key", "state"),
)

#: One row per key (or batch) of a scatter: its state, lease and encoded result.
scatter_units = Table(
    "flowstone_scatter_units",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("asset", String(NAME), primary_key=True),
    Column("position", BigInteger, primary_key=True),
    # sha256 of the encoded key: a key of up to max_key_bytes is too wide for an index.
    Column("digest", LargeBinary(32), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("holder", String(NAME)),
    Column("lease_until", Float),
    Column("result", LargeBinary),
    Column("error", Text),
    Column("finished_at", Float),
    UniqueConstraint("run_id", "asset", "digest", name="uq_flowstone_scatter_units_digest"),
    Index("ix_flowstone_scatter_units_state", "run_id", "asset", "state", "position"),
)

waits = Table(
    "flowstone_waits",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("wait_key", String(128), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("pipeline", String(NAME), nullable=False),
    Column("asset", String(NAME), nullable=False),
    Column("partition_key", String(KEY), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("armed", Integer, nullable=False, default=0),
    Column("resumed", Integer, nullable=False, default=0),
    Column("generation", Integer, nullable=False, default=0),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp),
    Column("on_timeout", String(16), nullable=False),
    Column("max_timeout_retries", Integer, nullable=False),
    Column("timeout_retries", Integer, nullable=False, default=0),
    Column("payload", LargeBinary),
    Column("metadata", Text, nullable=False, default="{}"),
    Column("message", Text),
    Column("decided_by", String(NAME)),
    Column("reason", Text),
    Column("decided_at", Timestamp),
    Column("resume", Text),
    # Keys are namespaced by run, asset and partition: the database holds the uniqueness.
    UniqueConstraint("run_id", "asset", "partition_key", "wait_key", name="uq_flowstone_waits_key"),
    Index("ix_flowstone_waits_state", "state", "expires_at"),
    Index("ix_flowstone_waits_run", "run_id"),
)

settings = Table(
    "flowstone_settings",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("value", Text, nullable=False),
)

#: One router's decision per (run, router, partition): the first one wins, by the unique
#: constraint. ``partition_key`` is never NULL (the unpartitioned partition is "null"),
#: so the constraint holds for it too. Rows live as long as the node's policy says
#: (``route_decisions``): until their run ends, or for ``route_decision_ttl``.
route_decisions = Table(
    "flowstone_route_decisions",
    metadata,
    Column("id", Integer().with_variant(BigInteger, "postgresql"), primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("pipeline", String(NAME), nullable=False),
    Column("router", String(NAME), nullable=False),
    Column("partition_key", String(KEY), nullable=False),
    Column("branch", String(NAME)),
    Column("fallback", Boolean, nullable=False, default=False),
    Column("error", Text),
    Column("decided_at", Timestamp, nullable=False),
    UniqueConstraint("run_id", "router", "partition_key", name="uq_flowstone_route_decisions_key"),
    Index("ix_flowstone_route_decisions_decided_at", "decided_at"),
)

# Schedules and sensors (flowstone/_schedules): their state, shared by every node on the
# database. Times are epoch seconds of the nodes' injected wall clock, not the database's,
# so that a test's manual clock drives them.
schedules = Table(
    "flowstone_schedules",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("pipeline", String(NAME), nullable=False),
    Column("asset", String(NAME), nullable=False),
    Column("cron", String(NAME), nullable=False),
    Column("timezone", String(NAME), nullable=False),
    Column("catch_up", String(16), nullable=False),
    Column("max_catch_up", Integer, nullable=False),
    Column("queue", String(NAME), nullable=False),
    Column("paused", Integer, nullable=False, default=0),
    Column("removed", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    # The last tick fired (or skipped by the catch-up policy); NULL: none yet.
    Column("last_tick", Float),
    # Incremented by every change of the row: a node polls the sum and re-reads the rows
    # only when it moved.
    Column("revision", Integer, nullable=False, default=0),
)

sensors = Table(
    "flowstone_sensors",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("pipeline", String(NAME), nullable=False),
    Column("target", String(NAME), nullable=False),
    Column("interval", Float, nullable=False),
    Column("paused", Integer, nullable=False, default=0),
    # The sensor's cursor, JSON; NULL: it has never advanced.
    Column("cursor", Text),
    Column("last_poll", Float),
    Column("polls", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("last_error", Text),
)

#: One row per rate key (``rate:<key>``): its next free start (epoch seconds, the
#: callers' clock).
limits = Table(
    "flowstone_limits",
    metadata,
    Column("key", String(NAME + 8), primary_key=True),
    Column("next_start_at", Float, nullable=False, default=0.0),
)

#: The seats of a slots key (``slots:<key>``), 0 to n - 1, made on first use: a seat is
#: free when ``holder`` is NULL or its lease has expired; its holder's node renews it
#: with its heartbeat (``sql/limits.py``).
limit_seats = Table(
    "flowstone_limit_seats",
    metadata,
    Column("key", String(NAME + 8), primary_key=True),
    Column("seat", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(NAME)),
    Column("node", String(NAME)),
    Column("expires_at", Float, nullable=False, default=0.0),
    Index("ix_flowstone_limit_seats_node", "node"),
)
