"""The hottest statements, run as their compiled text on the driver's cursor.

A job's claim and its group commit run once per few jobs, and on PostgreSQL most of
their Python time was SQLAlchemy's: looking the compiled form up in its cache, building
the parameters through each type's bind processor, setting up the result (an execution
context, a cursor description merged with the statement's columns, a ``Row`` class).
Compiled once per statement and dialect, the SQL text goes to psycopg's cursor with
plain parameters (JSON ones already dumped), and the rows come back as psycopg's named
tuples: about 100 µs less CPU per statement through ``exec_driver_sql``, and 40–60 µs
more without it (issue 22). The statement still runs on the SQLAlchemy ``Connection``
of the caller's transaction, and a driver error is handed to SQLAlchemy's own handler,
so a lost connection is seen, invalidated (the other pools emptied, ``engine``) and
translated as before.

Only for statements without expanding parameters (``IN`` lists), on PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

__all__ = ["execute"]


@functools.lru_cache(maxsize=64)
def _compiled(statement: Any, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The SQL text of ``statement`` with PostgreSQL's own ``$n`` placeholders, the
    parameter names in their order, and its fixed parameters (those not ``b_``-prefixed).

    ``$n`` text goes to the server as it is (psycopg's ``RawCursor``): with ``%(name)s``
    placeholders psycopg parses the text on every call once it is over 4 KiB, as the
    group commit's is (a tenth of a job's CPU).
    """
    numbered: Any = type(dialect)(paramstyle="numeric_dollar")  # type: ignore[call-arg]
    compiled = statement.compile(dialect=numbered)
    fixed = {name: value for name, value in compiled.params.items() if not name.startswith("b_")}
    return str(compiled), tuple(compiled.positiontup or ()), fixed


def execute(c: Connection, statement: Any, params: Mapping[str, Any]) -> list[Any]:
    """Run ``statement`` (built once, cached by the caller) with ``params`` bound as they
    are (the caller passes driver-ready values); its rows, as named tuples (none for a
    statement that returns no rows).

    Whether rows came back is read from the result's status: psycopg's
    ``cursor.description`` builds a column object per column on each call. The
    connection's event listeners (tracing, tests counting statements) are looked up
    only when the connection has any, and called only when there are some.
    """
    import psycopg  # noqa: PLC0415 - PostgreSQL only: loaded with the driver
    from psycopg.rows import namedtuple_row  # noqa: PLC0415

    sql, order, fixed = _compiled(statement, c.dialect)
    values = [params[name] if name in params else fixed[name] for name in order]
    cursor: Any = None
    try:
        driver: Any = c.connection.dbapi_connection
        cursor = psycopg.RawCursor(driver, row_factory=namedtuple_row)
        before = after = None
        if c._has_events or c.engine._has_events:  # as SQLAlchemy's own execute checks
            dispatch = c.dispatch
            before, after = dispatch.before_cursor_execute, dispatch.after_cursor_execute
            for listener in before:
                listener(c, cursor, sql, values, None, False)
        cursor.execute(sql, values)
        result = cursor.pgresult
        rows = cursor.fetchall() if result is not None and result.status == _TUPLES_OK else []
        if after:
            for listener in after:
                listener(c, cursor, sql, values, None, False)
        return rows
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's handler wraps, invalidates and re-raises
        c._handle_dbapi_exception(exc, sql, values, cursor, None)  # as exec_driver_sql does
    finally:
        if cursor is not None:
            cursor.close()


#: libpq's ``PGRES_TUPLES_OK`` (``psycopg.pq.ExecStatus.TUPLES_OK``): a result with rows.
_TUPLES_OK = 2
