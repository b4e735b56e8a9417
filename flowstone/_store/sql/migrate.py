"""Schema migrations with alembic, shipped in the package with their own version table.

Several nodes may start at once against a fresh database: the first takes a lock (an
advisory lock on PostgreSQL; an immediate write transaction on SQLite), migrates, and
the others find the schema current when they get the lock.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

__all__ = ["VERSION_TABLE", "current_revision", "head_revision", "upgrade"]

VERSION_TABLE = "flowstone_alembic_version"
_LOCK_KEY = 0x466C6F7753746F6E  # "FlowSton"
_LOCATION = str(Path(__file__).parent / "migrations")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", _LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of FlowStone."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine) -> bool:
    """Bring the schema to the newest revision; True if this call migrated it."""
    if engine.dialect.name != "postgresql":
        return _upgrade_sqlite(engine)  # checks the revision inside its write lock
    if current_revision(engine) == head_revision():
        return False
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        connection.commit()
        try:
            changed = _upgrade_locked(connection)
            connection.commit()  # commit the migration before the lock is released
            return changed
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            connection.commit()


def _upgrade_sqlite(engine: Engine, attempts: int = 10) -> bool:
    # SQLite's write engine begins IMMEDIATE: one writer at a time. On a brand-new file,
    # concurrent first connections can still be refused with "database is locked" before
    # the busy handler applies; such a refusal changed nothing, so it is retried.
    pause = threading.Event()
    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                return _upgrade_locked(connection)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            pause.wait(min(0.02 * 2**attempt, 1.0))
    return False


def _upgrade_locked(connection: Connection) -> bool:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    if context.get_current_revision() == head_revision():
        return False  # another node migrated while we waited for the lock
    command.upgrade(_config(connection), "head")
    return True
