"""concurrency slots as seat rows (helper "slots": renumber at merge)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:30:00.000000

A slots key had a lease row per holder, counted under a lock on the key's row before each
claim: four round trips on PostgreSQL. It now has ``n`` seat rows (0 to n - 1, made on
first use) and a claim is one ``UPDATE`` of a free seat (``sql/limits.py``). Leases held
when upgrading are dropped with the old table: they lasted seconds and their holders'
releases and renewals now find nothing (a holder then runs without a seat, once).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_limit_seats",
        sa.Column("key", sa.String(208), nullable=False),
        sa.Column("seat", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("node", sa.String(200), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", "seat", name="pk_flowstone_limit_seats"),
    )
    op.create_index("ix_flowstone_limit_seats_node", "flowstone_limit_seats", ["node"])
    op.drop_index("ix_flowstone_limit_slots_node", table_name="flowstone_limit_slots")
    op.drop_table("flowstone_limit_slots")


def downgrade() -> None:
    op.create_table(
        "flowstone_limit_slots",
        sa.Column("key", sa.String(208), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("node", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", "holder", name="pk_flowstone_limit_slots"),
    )
    op.create_index("ix_flowstone_limit_slots_node", "flowstone_limit_slots", ["node"])
    op.drop_index("ix_flowstone_limit_seats_node", table_name="flowstone_limit_seats")
    op.drop_table("flowstone_limit_seats")
