"""``SQLValues``: the IO manager behind ``fs.io.SQL()``, bound to one ``SQLStore``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from flowstone import codec, partitions
from flowstone._store.sql.schema import values
from flowstone.io import AssetKey

__all__ = ["SQLValues", "Transactions"]

V = values


class Transactions(Protocol):
    """What ``SQLValues`` needs of its store: scoped transactions, named for their errors.

    Declared here rather than importing ``SQLStore``: the store imports this module
    (through ``batch`` and ``fused``), and a module lower down never imports one above it.
    """

    def _write(self, doing: str) -> Any: ...

    def _read(self, doing: str) -> Any: ...


class SQLValues:
    """Values in the ``flowstone_values`` table, encoded by ``flowstone.codec``.

    ``format="json"`` stores JSON text (queryable in SQL) and accepts JSON types only.
    """

    def __init__(self, store: Transactions, format: str, max_value_bytes: int) -> None:
        if format not in ("msgpack", "json"):
            raise ValueError(f"format must be 'msgpack' or 'json', got {format!r}")
        self.owner = store
        self.format = format
        self.max_value_bytes = max_value_bytes

    def __repr__(self) -> str:
        return f"SQLValues({self.owner!r}, format={self.format!r})"

    def encode(self, value: Any) -> bytes | str:
        """Encode before any transaction starts, so a bad value writes nothing."""
        if self.format == "json":
            return codec.encode_json(value, max_bytes=self.max_value_bytes)
        return codec.encode(value, max_bytes=self.max_value_bytes)

    def decode(self, payload: bytes | str) -> Any:
        """A value from what ``encode`` made: a copy, as ``load`` would return."""
        if isinstance(payload, str):
            return codec.decode_json(payload)
        return codec.decode(payload)

    def write(self, connection: Connection, key: AssetKey, payload: bytes | str, at: datetime) -> None:
        """Upsert an encoded value inside the caller's transaction."""
        connection.execute(upsert_statement(connection.dialect.name), self.row(key, payload, at))

    def row(self, key: AssetKey, payload: bytes | str, at: datetime) -> dict[str, Any]:
        """The values row for an encoded value."""
        return {
            "pipeline": key.pipeline,
            "asset": key.asset,
            "partition_key": key.partition_key,
            "format": self.format,
            "data": payload if isinstance(payload, bytes) else None,
            "data_json": payload if isinstance(payload, str) else None,
            "size": len(payload),
            "updated_at": at,
        }

    # --- IOManager -----------------------------------------------------------------
    def store(self, key: AssetKey, value: Any) -> None:
        payload = self.encode(value)
        with self.owner._write("store a value in") as c:
            self.write(c, key, payload, datetime.now(UTC))

    def load(self, key: AssetKey) -> Any:
        with self.owner._read("read a value from") as c:
            row = c.execute(select(V.c.format, V.c.data, V.c.data_json).where(*self._where(key))).first()
        if row is None:
            raise KeyError(key)
        return self.decode(row.data_json if row.format == "json" else bytes(row.data))

    def exists(self, key: AssetKey) -> bool:
        with self.owner._read("read a value from") as c:
            return c.execute(select(V.c.size).where(*self._where(key))).first() is not None

    def existing(self, pipeline: str, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those (asset, partition key) pairs with a stored value, in a query or a few."""
        found: set[tuple[str, str]] = set()
        with self.owner._read("read values from") as c:
            for start in range(0, len(pairs), 500):
                chunk = pairs[start : start + 500]
                rows = c.execute(
                    _EXISTING,
                    {
                        "b_pipeline": pipeline,
                        "b_assets": sorted({a for a, _ in chunk}),
                        "b_keys": sorted({k for _, k in chunk}),
                    },
                )
                wanted = set(chunk)
                found.update(pair for pair in map(tuple, rows) if pair in wanted)
        return found

    def delete(self, key: AssetKey) -> bool:
        with self.owner._write("delete a value from") as c:
            return bool(c.execute(delete(V).where(*self._where(key))).rowcount)

    def list_partitions(self, pipeline: str, asset: str) -> list[partitions.Partition]:
        with self.owner._read("read values from") as c:
            rows = c.execute(
                select(V.c.partition_key)
                .where(V.c.pipeline == pipeline, V.c.asset == asset)
                .order_by(V.c.partition_key)
            ).all()
        return [partitions.deserialize(r[0]) for r in rows]

    def release(self, pipeline: str) -> None:
        pass

    @staticmethod
    def _where(key: AssetKey) -> tuple[Any, ...]:
        return (V.c.pipeline == key.pipeline, V.c.asset == key.asset, V.c.partition_key == key.partition_key)


_EXISTING = select(V.c.asset, V.c.partition_key).where(
    V.c.pipeline == bindparam("b_pipeline"),
    V.c.asset.in_(bindparam("b_assets", expanding=True)),
    V.c.partition_key.in_(bindparam("b_keys", expanding=True)),
)
#: The columns of a values row: its key (the first three), then what a new value replaces.
COLUMNS = ("pipeline", "asset", "partition_key", "format", "data", "data_json", "size", "updated_at")


def replacing(statement: Any) -> Any:
    """``statement``, an insert into the values table, replacing the row of the same key."""
    return statement.on_conflict_do_update(
        index_elements=[V.c.pipeline, V.c.asset, V.c.partition_key],
        set_={k: statement.excluded[k] for k in COLUMNS[3:]},
    )


@functools.lru_cache(maxsize=4)
def upsert_statement(dialect_name: str) -> Any:
    """The value upsert, built once per dialect: building it costs more than running it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return replacing(dialect.insert(V).values({name: bindparam(name) for name in COLUMNS}))
