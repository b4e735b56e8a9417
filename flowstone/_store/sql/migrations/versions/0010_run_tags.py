"""run tags (helper tags: renumber at merge)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 07:30:00.000000

A run records the string tags it was asked with (``node.run(..., tags={...})``, issue 19)
as a JSON object, so a resumed run keeps them and ``flowstone status``/``jobs`` can
filter by them. Rows written before read as untagged (``{}``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flowstone_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tags", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("flowstone_runs", schema=None) as batch_op:
        batch_op.drop_column("tags")
