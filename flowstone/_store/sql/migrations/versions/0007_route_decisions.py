"""route decisions: one per (run, router, partition), kept as the node's policy says

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-07 01:30:00.000000

Routers (issue 16) record the branch they took once per run, router and partition; the
unique constraint makes the first decision win, also for the unpartitioned partition,
whose key is the non-NULL "null". The index on ``decided_at`` serves the pruner of the
``"keep"`` policy.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_route_decisions",
        sa.Column(
            "id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False
        ),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("router", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=1024), nullable=False),
        sa.Column("branch", sa.String(length=200), nullable=True),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flowstone_route_decisions")),
        sa.UniqueConstraint(
            "run_id", "router", "partition_key", name=op.f("uq_flowstone_route_decisions_key")
        ),
    )
    op.create_index(
        "ix_flowstone_route_decisions_decided_at", "flowstone_route_decisions", ["decided_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_flowstone_route_decisions_decided_at", table_name="flowstone_route_decisions")
    op.drop_table("flowstone_route_decisions")
