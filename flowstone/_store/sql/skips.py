"""Recording the assets of a run that will not run (routing) in the SQL store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update

from flowstone._store.records import Skip
from flowstone._store.sql import statements
from flowstone._store.sql.schema import materializations

__all__ = ["Skips"]

M = materializations

SKIP = (
    update(M)
    .where(statements.WHERE_RECORD, M.c.status.in_(("pending", "running")))
    .values(status="skipped", finished_at=bindparam("b_at"))
)


class Skips:
    """``SQLStore.skip``: one transaction for the assets one outcome rules out."""

    def skip(self, skip: Skip) -> None:
        store: Any = self
        with store._write("record skipped assets in") as c:
            for asset in skip.assets:
                params = {
                    **store._key(skip.pipeline, asset, skip.partition_key, skip.run_id),
                    "b_at": skip.at,
                }
                if not c.execute(SKIP, params).rowcount:
                    c.execute(
                        statements.INSERT_MATERIALIZATION,
                        {
                            "pipeline": skip.pipeline,
                            "asset": asset,
                            "partition_key": skip.partition_key,
                            "run_id": skip.run_id,
                            "status": "skipped",
                            "attempts": 0,
                            "finished_at": skip.at,
                        },
                    )
            if skip.finishes_run:
                resource = f"{skip.pipeline}/{skip.assets[0]}/{skip.partition_key}"
                store._close_run(c, skip.run_id, "skipped", skip.at, None, skip.actor, resource)
