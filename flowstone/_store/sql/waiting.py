"""The SQL store's records of runs that wait durably (``flowstone._waits``), and the tags
they were asked with (read back when a run resumes, and by ``node.run_tags``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from flowstone._store.sql import statements
from flowstone._store.sql.schema import runs
from flowstone._tags import Tags, decode_tags

__all__ = ["Waiting"]


class Waiting:
    """Mixed into ``SQLStore``: a materialization (and its run) waits, and resumes."""

    def _write(self, doing: str) -> Any: ...  # SQLStore's
    def _read(self, doing: str) -> Any: ...  # SQLStore's

    def suspend(self, pipeline: str, asset: str, partition_key: str, run_id: str, at: datetime) -> bool:
        key = {"b_pipeline": pipeline, "b_asset": asset, "b_key": partition_key, "b_run": run_id}
        with self._write("record a wait in") as c:
            if not c.execute(statements.SUSPEND, key).rowcount:
                return False
            c.execute(statements.RUN_STATUS, {"b_run": run_id, "b_status": "waiting"})
            return True

    def run_resumed(self, run_id: str) -> None:
        with self._write("record a run in") as c:
            c.execute(statements.RUN_STATUS, {"b_run": run_id, "b_status": "running"})

    def run_records(self, run_id: str) -> dict[str, str]:
        with self._read("read") as c:
            return {row.asset: row.status for row in c.execute(statements.RUN_RECORDS, {"b_run": run_id})}

    def run_tags(self, run_id: str) -> Tags:
        with self._read("read") as c:
            query = select(runs.c.tags).where(runs.c.run_id == bindparam("b_run"))
            return decode_tags(c.execute(query, {"b_run": run_id}).scalar())
