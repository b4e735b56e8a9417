"""the scatter barrier: a head per scatter asset of a run, a row per key or batch

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:30:00.000000

A scatter asset (``fs.Scatter``) runs once per key; its keys, their states, leases and
encoded results are kept here so that a crash mid-scatter re-runs no finished key, and
workers on several machines share one scatter.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_scatters",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("partition_key", sa.String(1024), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cursor", sa.LargeBinary(), nullable=True),
        sa.Column("next_position", sa.BigInteger(), nullable=False),
        sa.Column("expanded", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("next_start_at", sa.Float(), nullable=False),
        sa.Column("pipeline_ref", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "asset", name="pk_flowstone_scatters"),
    )
    op.create_index(
        "ix_flowstone_scatters_target",
        "flowstone_scatters",
        ["pipeline", "asset", "partition_key", "state"],
    )
    op.create_table(
        "flowstone_scatter_units",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "asset", "position", name="pk_flowstone_scatter_units"),
        sa.UniqueConstraint("run_id", "asset", "digest", name="uq_flowstone_scatter_units_digest"),
    )
    op.create_index(
        "ix_flowstone_scatter_units_state",
        "flowstone_scatter_units",
        ["run_id", "asset", "state", "position"],
    )


def downgrade() -> None:
    op.drop_index("ix_flowstone_scatter_units_state", table_name="flowstone_scatter_units")
    op.drop_table("flowstone_scatter_units")
    op.drop_index("ix_flowstone_scatters_target", table_name="flowstone_scatters")
    op.drop_table("flowstone_scatters")
