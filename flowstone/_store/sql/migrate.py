"""Schema migrations with alembic, shipped in the package with their own version table.

Several nodes may start at once against a fresh database: the first takes a lock (an
advisory lock on PostgreSQL; an immediate write transaction on SQLite), migrates, and
the others find the schema current when they get the lock.

A database at a revision this FlowStone does not ship (a newer FlowStone migrated it, in
a rolling upgrade for instance) is refused with ``SchemaVersionError`` before anything
runs: reading and writing a schema one does not know would corrupt it quietly.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from flowstone._logging import quiet_alembic

with quiet_alembic():  # alembic logs the set-up of its plugins at INFO when imported
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
from flowstone._store.sql.engine import mask
from flowstone.errors import SchemaVersionError

__all__ = ["VERSION_TABLE", "alembic_config", "check", "current_revision", "head_revision", "upgrade"]

VERSION_TABLE = "flowstone_alembic_version"
_LOCK_KEY = 0x466C6F7753746F6E  # "FlowSton"
_LOCATION = str(Path(__file__).parent / "migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for FlowStone's migrations, run on ``connection``."""
    config = Config()
    config.set_main_option("script_location", _LOCATION)
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest migration shipped with this version of FlowStone."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    with quiet_alembic():  # "Context impl SQLiteImpl." on every read of the revision
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def check(engine: Engine) -> None:
    """Refuse a schema other than the newest (``auto_migrate=False``: nothing is migrated).

    Raises:
        SchemaVersionError: the database is empty, behind, newer or at an unknown revision.
    """
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    _refuse_foreign(engine, current)
    behind = "has no FlowStone schema" if current is None else f"is at schema revision {current}"
    raise SchemaVersionError(
        f"the store at {mask(engine.url)} {behind}, and this FlowStone needs {head}: run "
        "`flowstone db upgrade`, or start a node with auto_migrate=True",
        current=current,
        head=head,
    )


def _refuse_foreign(engine: Engine, current: str | None) -> None:
    """Raise ``SchemaVersionError`` if ``current`` is not a revision this FlowStone ships."""
    if current is None or current in _shipped():
        return
    head = head_revision()
    where = f"the store at {mask(engine.url)}"
    if current.isdigit() and head.isdigit() and int(current) > int(head):
        message = (
            f"{where} was migrated by a newer FlowStone ({current} > {head}): upgrade FlowStone "
            "to use it (this one neither reads nor changes a schema it does not know)"
        )
    else:
        message = (
            f"{where} is at schema revision {current!r}, which this FlowStone does not know (its "
            f"newest is {head}): it was migrated by another FlowStone, or its {VERSION_TABLE} "
            "table was changed; use the FlowStone that migrated it, or restore the database"
        )
    raise SchemaVersionError(message, current=current, head=head)


def _shipped() -> set[str]:
    """Every revision this FlowStone ships (exact ids: alembic would also match prefixes)."""
    return {script.revision for script in _scripts().walk_revisions()}


def upgrade(engine: Engine, *, wait: float | None = None) -> bool:
    """Bring the schema to the newest revision; True if this call migrated it.

    Another node migrating holds the lock meanwhile: on PostgreSQL the wait for it is
    bounded by the connection's statement timeout, on SQLite by ``wait`` seconds (the
    busy timeout; None: keep trying as long as refusals come at once).

    Raises:
        SchemaVersionError: the database is at a revision this FlowStone does not ship.
    """
    with quiet_alembic():
        return _upgrade(engine, wait)


def _upgrade(engine: Engine, wait: float | None) -> bool:
    if engine.dialect.name != "postgresql":
        return _upgrade_sqlite(engine, wait)  # checks the revision inside its write lock
    if current_revision(engine) == head_revision():
        return False
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        connection.commit()
        try:
            changed = _upgrade_locked(engine, connection)
            connection.commit()  # commit the migration before the lock is released
            return changed
        finally:
            connection.rollback()  # a refusal leaves a transaction open
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            connection.commit()


def _upgrade_sqlite(engine: Engine, wait: float | None, attempts: int = 10) -> bool:
    # SQLite's write engine begins IMMEDIATE: one writer at a time. On a brand-new file,
    # concurrent first connections can still be refused with "database is locked" before
    # the busy handler applies; such a refusal changed nothing, so it is retried, until
    # ``wait`` has passed: a lock that another process holds on is not waited for again.
    pause = threading.Event()
    deadline = None if wait is None else time.monotonic() + wait
    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                return _upgrade_locked(engine, connection)
        except OperationalError as exc:
            late = deadline is not None and time.monotonic() >= deadline
            if "locked" not in str(exc) or attempt == attempts - 1 or late:
                raise
            pause.wait(min(0.02 * 2**attempt, 1.0))
    return False


def _upgrade_locked(engine: Engine, connection: Connection) -> bool:
    current = _revision(connection)
    if current == head_revision():
        return False  # another node migrated while we waited for the lock
    _refuse_foreign(engine, current)
    if connection.dialect.name == "postgresql":
        # DDL on a big table may rightly take longer than a statement may: for this
        # transaction only (a dead network is still noticed by the socket timeout).
        connection.execute(text("SET LOCAL statement_timeout = 0"))
    command.upgrade(alembic_config(connection), "head")
    return True
