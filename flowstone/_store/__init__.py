"""Stores: records of runs, materializations and lineage."""

from flowstone._store.base import LineageStore, Store
from flowstone._store.memory import MemoryStore
from flowstone._store.records import MaterializationRecord, State, Status

__all__ = ["LineageStore", "MaterializationRecord", "MemoryStore", "State", "Status", "Store"]
