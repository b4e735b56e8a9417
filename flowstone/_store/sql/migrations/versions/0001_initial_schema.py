"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 22:35:53.691067
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_audit_log",
        sa.Column(
            "id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flowstone_audit_log")),
    )
    with op.batch_alter_table("flowstone_audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_flowstone_audit_log_at", ["at"], unique=False)

    op.create_table(
        "flowstone_lineage",
        sa.Column(
            "id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False
        ),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("asset", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=1024), nullable=False),
        sa.Column("upstream_asset", sa.String(length=200), nullable=False),
        sa.Column("upstream_partition_key", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flowstone_lineage")),
    )
    with op.batch_alter_table("flowstone_lineage", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flowstone_lineage_down",
            ["pipeline", "upstream_asset", "upstream_partition_key"],
            unique=False,
        )
        batch_op.create_index("ix_flowstone_lineage_up", ["pipeline", "asset", "partition_key"], unique=False)

    op.create_table(
        "flowstone_materializations",
        sa.Column(
            "id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False
        ),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=1024), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flowstone_materializations")),
        sa.UniqueConstraint(
            "pipeline", "asset", "partition_key", "run_id", name="uq_flowstone_materializations_key"
        ),
    )
    with op.batch_alter_table("flowstone_materializations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flowstone_materializations_latest", ["pipeline", "asset", "partition_key", "id"], unique=False
        )

    op.create_table(
        "flowstone_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_flowstone_runs")),
    )
    with op.batch_alter_table("flowstone_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flowstone_runs_target", ["pipeline", "asset", "partition_key"], unique=False
        )

    op.create_table(
        "flowstone_values",
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=1024), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("data_json", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pipeline", "asset", "partition_key", name=op.f("pk_flowstone_values")),
    )


def downgrade() -> None:
    op.drop_table("flowstone_values")
    with op.batch_alter_table("flowstone_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_flowstone_runs_target")

    op.drop_table("flowstone_runs")
    with op.batch_alter_table("flowstone_materializations", schema=None) as batch_op:
        batch_op.drop_index("ix_flowstone_materializations_latest")

    op.drop_table("flowstone_materializations")
    with op.batch_alter_table("flowstone_lineage", schema=None) as batch_op:
        batch_op.drop_index("ix_flowstone_lineage_up")
        batch_op.drop_index("ix_flowstone_lineage_down")

    op.drop_table("flowstone_lineage")
    with op.batch_alter_table("flowstone_audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_flowstone_audit_log_at")

    op.drop_table("flowstone_audit_log")
