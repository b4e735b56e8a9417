"""each node's own rescue_after, stored with its heartbeat

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000

Whether a node is dead was judged by the rescuer's ``rescue_after``: a health probe with the
default 60 s rescued the jobs of a live worker started with ``--rescue-after 300``. Each
node now writes its own with its heartbeat, and is judged by it. Rows written by an older
version have none (NULL): they are judged by the rescuer's, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flowstone_nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rescue_after", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flowstone_nodes", schema=None) as batch_op:
        batch_op.drop_column("rescue_after")
