"""Built-in sensors: attach one with ``pipeline.sensor(flowstone.sensors.files("inbox/*.csv",
target="ingest"), interval=5.0)``.

* ``files(pattern, target=...)``: new files matching a glob; each file's path is a
  partition. The cursor is the newest (modification time, path) seen, so a file that
  arrives with an older modification time than one already seen is not noticed.
* ``sql_rows(url, table, cursor_column, target=...)``: new rows of a table by keyset
  (``cursor_column > cursor``); each new value of the column is a partition.
* ``asset_materialized(pipeline, asset, target=...)``: each partition of ``asset``
  materialized since the last poll runs ``target`` for that partition.
"""

from __future__ import annotations

import glob as _glob
import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flowstone import partitions
from flowstone._schedules.materialized import completed_since
from flowstone._schedules.sensor import SensorContext, SensorResult
from flowstone.errors import DefinitionError

__all__ = ["asset_materialized", "files", "sql_rows"]

_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class _BuiltIn:
    """A sensor function that carries its target and a default name."""

    target: str
    sensor_name: str

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target:
            raise DefinitionError(
                f"sensor {self.sensor_name!r}: target must be an asset name, got {self.target!r}"
            )


@dataclass(frozen=True, slots=True)
class _Files(_BuiltIn):
    pattern: str

    def __call__(self, ctx: SensorContext, cursor: Any) -> SensorResult:
        found = []
        for path in _glob.glob(self.pattern, recursive=True):
            try:
                if not os.path.isfile(path):
                    continue
                key = [os.stat(path).st_mtime_ns, path]
            except OSError:
                continue  # gone between the listing and the stat
            if cursor is None or key > list(cursor):
                found.append(key)
        found.sort()
        return SensorResult(partitions=[path for _, path in found], cursor=found[-1] if found else cursor)


def files(pattern: str, *, target: str, name: str | None = None) -> Any:
    """New files matching ``pattern`` (a glob, ``**`` recursive) → ``target`` per path."""
    if not isinstance(pattern, str) or not pattern:
        raise DefinitionError(f"files: pattern must be a glob such as 'inbox/*.csv', got {pattern!r}")
    return _Files(target, name or f"{target}_files", pattern)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


@dataclass(frozen=True, slots=True)
class _Rows(_BuiltIn):
    url: str
    table: str
    column: str

    def __call__(self, ctx: SensorContext, cursor: Any) -> SensorResult:
        from sqlalchemy import column, create_engine, select, table  # noqa: PLC0415 - loaded lazily

        schema, _, name = self.table.rpartition(".")
        source = table(name, column(self.column), schema=schema or None)
        key = source.c[self.column]
        query = select(key).order_by(key).limit(_BATCH)
        if cursor is not None:
            query = query.where(key > cursor)
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                values = [_plain(row[0]) for row in connection.execute(query)]
        finally:
            engine.dispose()
        return SensorResult(partitions=values, cursor=values[-1] if values else cursor)


def sql_rows(url: str, table: str, cursor_column: str, *, target: str, name: str | None = None) -> Any:
    """New rows of ``table`` (``cursor_column`` greater than the cursor) → ``target`` per value."""
    for field, value in (("url", url), ("table", table), ("cursor_column", cursor_column)):
        if not isinstance(value, str) or not value:
            raise DefinitionError(f"sql_rows: {field} must be a non-empty string, got {value!r}")
    return _Rows(target, name or f"{target}_rows", url, table, cursor_column)


@dataclass(frozen=True, slots=True)
class _Materialized(_BuiltIn):
    pipeline: str
    asset: str

    def __call__(self, ctx: SensorContext, cursor: Any) -> SensorResult:
        keys, cursor = completed_since(ctx.store, self.pipeline, self.asset, cursor)
        return SensorResult(partitions=[partitions.deserialize(key) for key in keys], cursor=cursor)


def asset_materialized(pipeline: Any, asset: str, *, target: str, name: str | None = None) -> Any:
    """Each partition of ``pipeline``'s ``asset`` materialized since the last poll → ``target``."""
    pipeline_name = pipeline if isinstance(pipeline, str) else getattr(pipeline, "name", None)
    if not isinstance(pipeline_name, str) or not pipeline_name:
        raise DefinitionError(
            f"asset_materialized: pipeline must be a Pipeline or its name, got {pipeline!r}"
        )
    if not isinstance(asset, str) or not asset:
        raise DefinitionError(f"asset_materialized: asset must be an asset name, got {asset!r}")
    return _Materialized(target, name or f"{target}_after_{asset}", pipeline_name, asset)
