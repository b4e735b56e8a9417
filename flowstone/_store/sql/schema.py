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
)

__all__ = ["audit_log", "lineage", "materializations", "metadata", "runs", "values"]

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
