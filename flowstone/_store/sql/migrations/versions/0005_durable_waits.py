"""durable waits (signal gates, approvals) and node-wide settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 01:30:00.000000

A materialization that waits is a row of ``flowstone_waits``, not a blocked thread. Keys
are unique per (run, asset, partition) in the database. ``flowstone_settings`` holds the
generated signal secret that every node on the database shares.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_waits",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("wait_key", sa.String(128), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("partition_key", sa.String(1024), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("armed", sa.Integer(), nullable=False),
        sa.Column("resumed", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_timeout", sa.String(16), nullable=False),
        sa.Column("max_timeout_retries", sa.Integer(), nullable=False),
        sa.Column("timeout_retries", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resume", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_flowstone_waits"),
        sa.UniqueConstraint("run_id", "asset", "partition_key", "wait_key", name="uq_flowstone_waits_key"),
    )
    op.create_index("ix_flowstone_waits_state", "flowstone_waits", ["state", "expires_at"])
    op.create_index("ix_flowstone_waits_run", "flowstone_waits", ["run_id"])
    op.create_table(
        "flowstone_settings",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_flowstone_settings"),
    )


def downgrade() -> None:
    op.drop_table("flowstone_settings")
    op.drop_index("ix_flowstone_waits_run", table_name="flowstone_waits")
    op.drop_index("ix_flowstone_waits_state", table_name="flowstone_waits")
    op.drop_table("flowstone_waits")
