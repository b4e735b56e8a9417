"""schedules and sensors: their state, shared by the nodes on one database

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-07 01:30:00.000000

One row per schedule (its definition as text, paused or removed, the last tick fired) and
per sensor (its cursor, when it last polled, its error count), so that every node sees a
change made on any node and a restarted node catches up from the last tick.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flowstone_schedules",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(200), nullable=False),
        sa.Column("catch_up", sa.String(16), nullable=False),
        sa.Column("max_catch_up", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("paused", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_tick", sa.Float(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_flowstone_schedules"),
    )
    op.create_table(
        "flowstone_sensors",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("interval", sa.Float(), nullable=False),
        sa.Column("paused", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_poll", sa.Float(), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_flowstone_sensors"),
    )


def downgrade() -> None:
    op.drop_table("flowstone_sensors")
    op.drop_table("flowstone_schedules")
