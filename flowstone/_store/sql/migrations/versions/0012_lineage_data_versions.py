"""the data version of each upstream value read (helper partitions: renumber at merge)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:40:00.000000

Staleness compared an upstream's completion time with its dependant's (issue 19 asks for
the data versions of the values read). A lineage edge now records the data version of
the upstream value: the run id of the upstream's newest completed record when the edge
is written, in the dependant's completion transaction. A trigger fills it, so every path
that writes lineage (a completion, a batch of runs, the lineage actor) records it. Edges
written before have none (NULL) and are judged by completion time as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_VERSION = """(
SELECT m.run_id FROM flowstone_materializations m
WHERE m.pipeline = NEW.pipeline AND m.asset = NEW.upstream_asset
AND m.partition_key = NEW.upstream_partition_key AND m.status = 'completed'
ORDER BY m.id DESC LIMIT 1)"""

_SQLITE = (
    "CREATE TRIGGER flowstone_lineage_version AFTER INSERT ON flowstone_lineage "
    "WHEN NEW.upstream_run_id IS NULL "
    f"BEGIN UPDATE flowstone_lineage SET upstream_run_id = {_VERSION} WHERE id = NEW.id; END"
)

_POSTGRESQL = [
    f"""
CREATE FUNCTION flowstone_lineage_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.upstream_run_id IS NULL THEN
    NEW.upstream_run_id := {_VERSION};
  END IF;
  RETURN NEW;
END
$$
""",
    "CREATE TRIGGER flowstone_lineage_version BEFORE INSERT ON flowstone_lineage "
    "FOR EACH ROW EXECUTE FUNCTION flowstone_lineage_version()",
]


def upgrade() -> None:
    with op.batch_alter_table("flowstone_lineage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upstream_run_id", sa.String(length=64), nullable=True))
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else [_SQLITE]:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER flowstone_lineage_version ON flowstone_lineage")
        op.execute("DROP FUNCTION flowstone_lineage_version()")
    else:
        op.execute("DROP TRIGGER flowstone_lineage_version")
    with op.batch_alter_table("flowstone_lineage", schema=None) as batch_op:
        batch_op.drop_column("upstream_run_id")
