"""What the SQL states of schedules and of sensors share: the store, its job table, and
the jobs API a firing enqueues through."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowstone._jobs.api import JobsAPI
    from flowstone._jobs.table import JobTable

__all__ = ["SQLStateBase"]


class SQLStateBase:
    def __init__(self, table: JobTable, jobs_api: JobsAPI | None = None) -> None:
        """``jobs_api`` builds the jobs a firing enqueues: without it (the CLI) the rows
        can be read and changed, not fired."""
        self._jobs_api = jobs_api
        self._table = table
        self._store: Any = table._store

    @property
    def _jobs(self) -> JobsAPI:
        assert self._jobs_api is not None, "a state without the jobs API cannot enqueue"
        return self._jobs_api
