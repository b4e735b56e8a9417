"""``Memory``: values kept in the process, the default when no database is configured."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flowstone import partitions
from flowstone.io._base import AssetKey

__all__ = ["Memory"]


class Memory:
    """Values in a dict, per pipeline, optionally bounded.

    With ``max_entries`` the oldest values of a pipeline are evicted beyond the bound (an
    evicted value is simply recomputed by the next run that needs it); use it for long
    backfills whose values you do not read back.
    """

    def __init__(self, *, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be ≥ 1 or None, got {max_entries!r}")
        self._max = max_entries
        self._lock = threading.Lock()
        self._values: dict[str, OrderedDict[tuple[str, str], Any]] = {}

    def __repr__(self) -> str:
        return f"Memory(max_entries={self._max!r})"

    def load(self, key: AssetKey) -> Any:
        with self._lock:
            return self._values[key.pipeline][(key.asset, key.partition_key)]

    def store(self, key: AssetKey, value: Any) -> None:
        with self._lock:
            values = self._values.setdefault(key.pipeline, OrderedDict())
            values[(key.asset, key.partition_key)] = value
            values.move_to_end((key.asset, key.partition_key))
            if self._max is not None and len(values) > self._max:
                values.popitem(last=False)

    def exists(self, key: AssetKey) -> bool:
        with self._lock:
            values = self._values.get(key.pipeline)
            return values is not None and (key.asset, key.partition_key) in values

    def delete(self, key: AssetKey) -> bool:
        with self._lock:
            values = self._values.get(key.pipeline)
            return values is not None and values.pop((key.asset, key.partition_key), _MISSING) is not _MISSING

    def list_partitions(self, pipeline: str, asset: str) -> list[partitions.Partition]:
        with self._lock:
            keys = [pk for (a, pk) in self._values.get(pipeline, {}) if a == asset]
        return [partitions.deserialize(k) for k in keys]

    def release(self, pipeline: str) -> None:
        with self._lock:
            self._values.pop(pipeline, None)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._values.values())


_MISSING = object()
