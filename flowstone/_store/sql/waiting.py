"""The SQL store's records of runs that wait durably (``flowstone._waits``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowstone._store.sql import statements

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
