"""The database schema: SQLAlchemy Core tables, one ``MetaData``, names prefixed ``flowstone_``.

Migrations (``migrations/versions``) create exactly these tables; a test upgrades an
empty SQLite and PostgreSQL database and compares the result with this module.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    "runs",
    "schedules",
    "sensors",
    "values",
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
    UniqueConstraint(
        "pipeline", "asset", "partition_key", "run_id", name="uq_flowstone_materializations_key"
    ),
    Index("ix_flowstone_materializations_latest", "pipeline", "asset", "partition_key", "id"),
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
