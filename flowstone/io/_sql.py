"""``SQL``: keep an asset's values in the node's database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from flowstone.io._base import AssetKey

__all__ = ["SQL"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SQL:
    """Values in the node's database (``flowstone_values``), the default with a database URL.

    This is a declaration: the node that runs the asset binds it to its own store, so one
    pipeline can run on a SQLite node in tests and a PostgreSQL node in production.
    ``format="json"`` stores JSON text that SQL can query, and accepts JSON types only.
    """

    format: Literal["msgpack", "json"] = "msgpack"
    max_value_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.format not in ("msgpack", "json"):
            raise ValueError(f"format must be 'msgpack' or 'json', got {self.format!r}")

    def _unbound(self, *_args: Any) -> Any:
        raise TypeError("fs.io.SQL() is bound by the node that runs the asset; use node.get() to read values")

    def load(self, key: AssetKey) -> Any:
        return self._unbound(key)

    def store(self, key: AssetKey, value: Any) -> None:
        self._unbound(key, value)

    def exists(self, key: AssetKey) -> bool:
        return bool(self._unbound(key))

    def delete(self, key: AssetKey) -> bool:
        return bool(self._unbound(key))

    def list_partitions(self, pipeline: str, asset: str) -> list[Any]:
        return list(self._unbound(pipeline, asset))

    def release(self, pipeline: str) -> None:
        self._unbound(pipeline)
