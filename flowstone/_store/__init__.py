"""Stores: records of runs, materializations, lineage and the audit log."""

from flowstone._store.base import LineageStore, Store
from flowstone._store.memory import MemoryStore
from flowstone._store.records import (
    AuditEntry,
    Completion,
    Failure,
    MaterializationRecord,
    RunStart,
    State,
    Status,
)

__all__ = [
    "AuditEntry",
    "Completion",
    "Failure",
    "LineageStore",
    "MaterializationRecord",
    "MemoryStore",
    "RunStart",
    "State",
    "Status",
    "Store",
]
