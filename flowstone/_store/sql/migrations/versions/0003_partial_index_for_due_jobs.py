"""a partial index for due jobs, so a claim reads the front of the queue, not all of it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:50:00.000000

The fetch index began with ``(queue, state, …)``; a claim asks for three states at once,
so PostgreSQL scanned and sorted every waiting job on each claim (5 ms per claim with
10,000 queued). An index over the claimable rows only, in claim order, lets it stop at
the first due job.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CLAIMABLE = sa.text("state IN ('available', 'scheduled', 'retryable')")


def upgrade() -> None:
    with op.batch_alter_table("flowstone_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_flowstone_jobs_fetch")
        batch_op.create_index(
            "ix_flowstone_jobs_due",
            ["queue", "priority", "scheduled_at", "id"],
            unique=False,
            postgresql_where=CLAIMABLE,
            sqlite_where=CLAIMABLE,
        )


def downgrade() -> None:
    with op.batch_alter_table("flowstone_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_flowstone_jobs_due")
        batch_op.create_index(
            "ix_flowstone_jobs_fetch", ["queue", "state", "priority", "scheduled_at", "id"], unique=False
        )
