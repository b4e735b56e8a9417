"""each materialization's code version (helper partitions: renumber at merge)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:00:00.000000

A completed materialization records the code version of the asset that computed it (a
hash of the function's source and options, or ``@asset(code_version=...)``), so that a
value computed by older code reads as stale (issue 19). Rows written before have none
(NULL) and are not judged by their code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flowstone_materializations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flowstone_materializations", schema=None) as batch_op:
        batch_op.drop_column("code_version")
