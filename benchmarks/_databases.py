"""Scratch databases for one measurement: a fresh PostgreSQL database or a temp SQLite file."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def pg_database(base: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one measurement, dropped afterwards."""
    name = f"fs_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as c:
                c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


@contextlib.contextmanager
def sqlite_database(name: str) -> Iterator[str]:
    """A SQLite file ``<name>.db`` in a temp directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"fs_bench_{name}_") as directory:
        yield f"sqlite:///{Path(directory) / f'{name}.db'}"
