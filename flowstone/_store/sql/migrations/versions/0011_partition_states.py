"""the newest state of each partition, kept by triggers (helper partitions: renumber at merge)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 12:40:00.000000

``node.partition_status`` of 100,000 partitions read every record of the asset (issue 19:
≤ 100 ms on SQLite). ``flowstone_partition_states`` holds one row per asset and partition,
the state of its newest record (highest id). Triggers on ``flowstone_materializations``
keep it, so it is written in the same transaction as the record by every path that writes
one (a run's start, a completion, a failure, a batch of runs, a fused PostgreSQL
statement, even a row inserted by hand) and the two can never disagree. Rows already
there are summarised by the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TABLE = "flowstone_partition_states"

_BACKFILL = f"""
INSERT INTO {_TABLE} (pipeline, asset, partition_key, status, record_id)
SELECT m.pipeline, m.asset, m.partition_key, m.status, m.id
FROM flowstone_materializations m
JOIN (SELECT MAX(id) AS id FROM flowstone_materializations
      GROUP BY pipeline, asset, partition_key) n ON m.id = n.id
"""

# The newest remaining record of a key becomes its state once the newest is deleted.
_NEXT = f"""
INSERT INTO {_TABLE} (pipeline, asset, partition_key, status, record_id)
SELECT pipeline, asset, partition_key, status, id FROM flowstone_materializations
WHERE pipeline = OLD.pipeline AND asset = OLD.asset AND partition_key = OLD.partition_key
ORDER BY id DESC LIMIT 1
ON CONFLICT (pipeline, asset, partition_key) DO NOTHING
"""

_UPSERT = f"""
INSERT INTO {_TABLE} (pipeline, asset, partition_key, status, record_id)
VALUES (NEW.pipeline, NEW.asset, NEW.partition_key, NEW.status, NEW.id)
ON CONFLICT (pipeline, asset, partition_key) DO UPDATE
SET status = excluded.status, record_id = excluded.record_id
WHERE excluded.record_id > {_TABLE}.record_id
"""

_UPDATE = f"""
UPDATE {_TABLE} SET status = NEW.status
WHERE pipeline = NEW.pipeline AND asset = NEW.asset AND partition_key = NEW.partition_key
AND record_id = NEW.id
"""

_DELETE = f"""
DELETE FROM {_TABLE}
WHERE pipeline = OLD.pipeline AND asset = OLD.asset AND partition_key = OLD.partition_key
AND record_id = OLD.id
"""

_SQLITE = [
    f"CREATE TRIGGER {_TABLE}_insert AFTER INSERT ON flowstone_materializations BEGIN {_UPSERT}; END",
    f"CREATE TRIGGER {_TABLE}_update AFTER UPDATE OF status ON flowstone_materializations "
    f"WHEN NEW.status <> OLD.status BEGIN {_UPDATE}; END",
    f"CREATE TRIGGER {_TABLE}_delete AFTER DELETE ON flowstone_materializations "
    f"BEGIN {_DELETE}; {_NEXT}; END",
]

# PostgreSQL: statement-level triggers over transition tables, so a statement writing many
# records (a batch of runs, 100,000 rows inserted at once) updates the summary in one set
# operation, not one function call per row. (A column list, UPDATE OF status, cannot have
# transition tables: every update runs the join, which finds nothing unless status changed.)
_PG_INSERT = f"""
INSERT INTO {_TABLE} (pipeline, asset, partition_key, status, record_id)
SELECT DISTINCT ON (pipeline, asset, partition_key) pipeline, asset, partition_key, status, id
FROM new_rows ORDER BY pipeline, asset, partition_key, id DESC
ON CONFLICT (pipeline, asset, partition_key) DO UPDATE
SET status = excluded.status, record_id = excluded.record_id
WHERE excluded.record_id > {_TABLE}.record_id
"""

_PG_UPDATE = f"""
UPDATE {_TABLE} s SET status = n.status FROM new_rows n
WHERE s.pipeline = n.pipeline AND s.asset = n.asset AND s.partition_key = n.partition_key
AND s.record_id = n.id AND s.status <> n.status
"""

_PG_DELETE = f"""
DELETE FROM {_TABLE} s USING old_rows o
WHERE s.pipeline = o.pipeline AND s.asset = o.asset AND s.partition_key = o.partition_key
AND s.record_id = o.id;
INSERT INTO {_TABLE} (pipeline, asset, partition_key, status, record_id)
SELECT DISTINCT ON (m.pipeline, m.asset, m.partition_key) m.pipeline, m.asset, m.partition_key, m.status, m.id
FROM flowstone_materializations m
JOIN (SELECT DISTINCT pipeline, asset, partition_key FROM old_rows) o
ON m.pipeline = o.pipeline AND m.asset = o.asset AND m.partition_key = o.partition_key
ORDER BY m.pipeline, m.asset, m.partition_key, m.id DESC
ON CONFLICT (pipeline, asset, partition_key) DO NOTHING
"""

_PG_EVENTS = (
    ("insert", "INSERT", "NEW TABLE AS new_rows", _PG_INSERT),
    ("update", "UPDATE", "NEW TABLE AS new_rows", _PG_UPDATE),
    ("delete", "DELETE", "OLD TABLE AS old_rows", _PG_DELETE),
)

_POSTGRESQL = [
    statement
    for name, event, referencing, body in _PG_EVENTS
    for statement in (
        f"CREATE FUNCTION {_TABLE}_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body};\nRETURN NULL;\nEND\n$$",
        f"CREATE TRIGGER {_TABLE}_{name} AFTER {event} ON flowstone_materializations "
        f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {_TABLE}_{name}()",
    )
]


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("asset", sa.String(length=200), nullable=False),
        sa.Column("partition_key", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("pipeline", "asset", "partition_key", name=op.f(f"pk_{_TABLE}")),
    )
    op.create_index(
        op.f(f"ix_{_TABLE}_status"), _TABLE, ["pipeline", "asset", "status", "partition_key"], unique=False
    )
    op.execute(_BACKFILL)
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, *_ in _PG_EVENTS:
            op.execute(f"DROP TRIGGER {_TABLE}_{name} ON flowstone_materializations")
            op.execute(f"DROP FUNCTION {_TABLE}_{name}()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {_TABLE}_{name}")
    op.drop_index(op.f(f"ix_{_TABLE}_status"), table_name=_TABLE)
    op.drop_table(_TABLE)
