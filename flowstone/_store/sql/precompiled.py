"""The hottest statements, run as their compiled text (``exec_driver_sql``).

A job's claim and its group commit run once per few jobs, and on PostgreSQL most of
their Python time was SQLAlchemy's: looking the compiled form up in its cache, building
the parameters through each type's bind processor, wrapping the result. Compiled once
per statement and dialect, the SQL text goes to the driver with plain parameters (JSON
ones already dumped): about 100 µs less CPU per statement. Errors still pass through
SQLAlchemy, so a lost connection is seen, invalidated and translated as before.

Only for statements without expanding parameters (``IN`` lists), on PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import CursorResult, Dialect

__all__ = ["execute"]


@functools.lru_cache(maxsize=64)
def _compiled(statement: Any, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The SQL text of ``statement`` and its fixed parameters (those not ``b_``-prefixed)."""
    compiled = statement.compile(dialect=dialect)
    fixed = {name: value for name, value in compiled.params.items() if not name.startswith("b_")}
    return str(compiled), fixed


def execute(c: Connection, statement: Any, params: Mapping[str, Any]) -> CursorResult[Any]:
    """Run ``statement`` (built once, cached by the caller) with ``params`` bound as they
    are: the caller passes driver-ready values."""
    sql, fixed = _compiled(statement, c.dialect)
    return c.exec_driver_sql(sql, {**fixed, **params})
