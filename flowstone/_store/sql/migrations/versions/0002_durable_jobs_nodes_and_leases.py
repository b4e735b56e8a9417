"""durable jobs, nodes and leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:39:58.428163
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_jobs",
        sa.Column(
            "id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=False),
        sa.Column("pipeline_ref", sa.String(length=500), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=1024), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("snoozed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("unique_key", sa.String(length=128), nullable=True),
        sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempted_by", sa.String(length=200), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flowstone_jobs")),
        sa.UniqueConstraint("unique_key", name="uq_flowstone_jobs_unique_key"),
    )
    with op.batch_alter_table("flowstone_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flowstone_jobs_fetch", ["queue", "state", "priority", "scheduled_at", "id"], unique=False
        )
        batch_op.create_index("ix_flowstone_jobs_owner", ["state", "attempted_by"], unique=False)

    op.create_table(
        "flowstone_leases",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_flowstone_leases")),
    )
    op.create_table(
        "flowstone_nodes",
        sa.Column("node_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hostname", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queues", sa.Text(), nullable=False),
        sa.Column("tree", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_flowstone_nodes")),
    )


def downgrade() -> None:
    op.drop_table("flowstone_nodes")
    op.drop_table("flowstone_leases")
    with op.batch_alter_table("flowstone_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_flowstone_jobs_owner")
        batch_op.drop_index("ix_flowstone_jobs_fetch")

    op.drop_table("flowstone_jobs")
