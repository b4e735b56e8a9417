"""SQLite: a materialization's statements run on the driver's connection directly.

A completion on SQLite is four or five small statements in one transaction (the record,
the value, the lineage, the dependants it makes running). Through SQLAlchemy's
``Connection.execute`` each cost 50–80 µs of Python (execution context, parameter
processing, result set-up), several times SQLite's own work: most of an asset's time in a
chain (issue 22: 0.6–1.2 ms per asset). Here they are our Core statements compiled once
for SQLite's ``qmark`` style and run by ``sqlite3`` itself, inside the caller's
transaction (the same driver connection: SQLAlchemy still begins and commits it).

Parameters are converted as SQLAlchemy's SQLite dialect would: timestamps are stored as
UTC text in its format, so rows written here read back through the Core the same way.
"""

from __future__ import annotations

import functools
import operator
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite

from flowstone._store.sql import statements
from flowstone._store.sql.values import COLUMNS as VALUE_COLUMNS
from flowstone._store.sql.values import upsert_statement

__all__ = ["execute", "executemany", "premark", "run", "run_many", "text_of", "uses_driver"]

_LINEAGE_COLUMNS = (
    "pipeline",
    "run_id",
    "asset",
    "partition_key",
    "upstream_asset",
    "upstream_partition_key",
)


def uses_driver(c: Connection) -> bool:
    """Whether ``c`` is SQLite's (PostgreSQL has its fused statements, ``fused.py``)."""
    return c.dialect.name == "sqlite"


def _statement(name: str) -> Any:
    return {
        "complete": statements.COMPLETE,
        "premark": statements.PREMARK,
        "value": upsert_statement("sqlite"),
        "delete_lineage": statements.DELETE_LINEAGE,
        "insert_lineage": statements.INSERT_LINEAGE,
        "close_run": statements.CLOSE_RUN_TAGS,
        "audit": statements.INSERT_AUDIT,
        "insert_run": statements.INSERT_RUN,
        "insert_record": statements.INSERT_MATERIALIZATION,
    }[name]


_COLUMNS: Mapping[str, Sequence[str]] = {
    "value": VALUE_COLUMNS,
    "insert_lineage": _LINEAGE_COLUMNS,
    "audit": statements.AUDIT_COLUMNS,
    # a run's start (runs.RunWrites.start_run): the columns it sets, the rest take their defaults
    "insert_run": ("run_id", "pipeline", "asset", "partition_key", "status", "options", "started_at", "tags"),
    "insert_record": ("pipeline", "asset", "partition_key", "run_id", "status", "attempts", "started_at"),
}


@functools.cache
def _compiled(name: str) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The SQL of statement ``name``, its parameters' order, and the values it binds itself."""
    columns = _COLUMNS.get(name)
    compiled = _statement(name).compile(
        dialect=sqlite.dialect(paramstyle="qmark"),
        column_keys=None if columns is None else list(columns),
    )
    sql = str(compiled)
    if "POSTCOMPILE" in sql:  # pragma: no cover - an IN list would need expanding per call
        raise AssertionError(f"statement {name!r} cannot run on the driver as compiled: {sql}")
    return sql, tuple(compiled.positiontup or ()), dict(compiled.params)


def text_of(moment: datetime) -> str:
    """A timestamp as SQLAlchemy's SQLite dialect stores it: UTC text."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"


def _plain(value: Any) -> Any:
    return text_of(value) if isinstance(value, datetime) else value


def _row(order: tuple[str, ...], fixed: dict[str, Any], params: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(_plain(params[n] if n in params else fixed[n]) for n in order)


def execute(c: Connection, name: str, params: Mapping[str, Any]) -> int:
    """Run statement ``name`` once with ``params``; the rows it changed."""
    sql, order, fixed = _compiled(name)
    cursor = c.connection.dbapi_connection.execute(sql, _row(order, fixed, params))  # type: ignore[union-attr]
    return int(cursor.rowcount)


def executemany(c: Connection, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run statement ``name`` for each of ``rows``, in one call of the driver."""
    if not rows:
        return
    sql, order, fixed = _compiled(name)
    c.connection.dbapi_connection.executemany(sql, [_row(order, fixed, row) for row in rows])  # type: ignore[union-attr]


def premark(c: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record the dependants a completion makes ready as running (``statements.PREMARK``)."""
    if uses_driver(c):
        executemany(c, "premark", rows)
    else:
        c.execute(statements.PREMARK, list(rows))


_REQUIRED = _compiled("insert_lineage")[2]["pipeline"]  # SQLAlchemy's marker of a value to bind


@functools.cache
def _prepared(name: str) -> tuple[str, dict[str, Any], Callable[[Mapping[str, Any]], tuple[Any, ...]]]:
    """The SQL of ``name``, the values it binds itself, and a getter of its parameters' tuple."""
    sql, order, fixed = _compiled(name)
    literal = {k: v for k, v in fixed.items() if v is not None and not isinstance(v, type(_REQUIRED))}
    getter = operator.itemgetter(*order)
    if len(order) == 1:  # itemgetter of one name returns the value, not a tuple
        return sql, literal, lambda params: (params[order[0]],)
    return sql, literal, getter


def run(connection: sqlite3.Connection, name: str, params: Mapping[str, Any]) -> sqlite3.Cursor:
    """Run statement ``name`` on a driver connection (``DriverTransaction``); its cursor.

    ``params`` must be plain already: timestamps as ``text_of`` makes them. Their tuple
    is taken by ``operator.itemgetter`` in C, not converted one by one in Python.
    """
    sql, literal, getter = _prepared(name)
    return connection.execute(sql, getter({**literal, **params} if literal else params))


def run_many(connection: sqlite3.Connection, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """``run`` for each of ``rows``, in one call of the driver."""
    if rows:
        sql, literal, getter = _prepared(name)
        tuples = [getter({**literal, **row}) for row in rows] if literal else list(map(getter, rows))
        connection.executemany(sql, tuples)
