"""rate limits and concurrency slots shared across processes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:40:00.000000

``@p.asset(rate=fs.Rate(...), concurrency=fs.Slots(...))`` (issue 20): a row per key with
a rate's next free start, and a lease row per slot held, renewed with its node's heartbeat.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_limits",
        sa.Column("key", sa.String(208), nullable=False),
        sa.Column("next_start_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_flowstone_limits"),
    )
    op.create_table(
        "flowstone_limit_slots",
        sa.Column("key", sa.String(208), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("node", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", "holder", name="pk_flowstone_limit_slots"),
    )
    op.create_index("ix_flowstone_limit_slots_node", "flowstone_limit_slots", ["node"])


def downgrade() -> None:
    op.drop_index("ix_flowstone_limit_slots_node", table_name="flowstone_limit_slots")
    op.drop_table("flowstone_limit_slots")
    op.drop_table("flowstone_limits")
