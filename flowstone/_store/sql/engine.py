"""Engines for the SQL store: SQLite tuned for several processes, PostgreSQL with pings.

SQLite gets two engines on the same file: reads begin a deferred transaction, writes
``BEGIN IMMEDIATE``, so a write transaction takes the write lock up front and never
fails half-way on a lock upgrade; WAL lets readers go on while one process writes.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)

from flowstone._store.sql.checkpoint import Checkpointer
from flowstone._store.sql.held import HeldConnection
from flowstone.errors import StoreUnavailableError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_STATEMENT_TIMEOUT_S",
    "Engines",
    "serialize",
    "Timeouts",
    "create_engines",
    "mask",
    "unavailable",
]

DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_STATEMENT_TIMEOUT_S = 30.0
#: A pooled PostgreSQL connection idle for longer than this is pinged before use.
PING_AFTER_IDLE_S = 1.0
_QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """How long the store waits for its database (``NodeConfig.connect_timeout`` and
    ``statement_timeout``): without them a silent database blocked a start for 130 s (the
    driver's default) and a network black hole blocked store calls until it healed.
    """

    connect: float = DEFAULT_CONNECT_TIMEOUT_S
    statement: float = DEFAULT_STATEMENT_TIMEOUT_S

    @property
    def statement_ms(self) -> int:
        return max(1, round(self.statement * 1000))

    def postgres_connect_args(self) -> dict[str, Any]:
        """libpq's parameters: a bounded connect, and a socket that gives up on a silent network.

        ``tcp_user_timeout`` drops the connection when what was sent (a query, a keepalive
        probe) stays unacknowledged that long; keepalives probe a connection waiting for an
        answer, so a network that drops packets mid-statement is noticed too. A statement
        the server is slow to run is cancelled by the server (``statement_timeout``, set
        on each new connection).
        """
        idle = max(1, int(self.statement // 3))
        return {
            "connect_timeout": max(2, math.ceil(self.connect)),  # libpq: whole seconds, ≥ 2
            "tcp_user_timeout": self.statement_ms,
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": max(1, idle // 2),
            "keepalives_count": 3,
        }


def mask(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def unavailable(url: str, exc: BaseException, doing: str) -> StoreUnavailableError:
    """A ``StoreUnavailableError`` naming the URL (masked), the driver's reason and what to do."""
    reason = getattr(exc, "orig", None) or exc
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    if is_corrupt_file(exc):
        advice = (
            "the file is not a SQLite database, or it is corrupt: restore it from a backup (see "
            "Backups in docs/storage.md), or point database_url at another file"
        )
    elif getattr(reason, "sqlstate", None) == _QUERY_CANCELED or "database is locked" in text:
        advice = (
            "the statement ran past statement_timeout: the database is overloaded or another "
            "client holds a lock; raise statement_timeout if such statements are expected"
        )
    else:
        advice = "check that the database is running and that the URL is right"
    error = StoreUnavailableError(f"cannot {doing} the store at {mask(url)}: {text}; {advice}")
    error.__cause__ = exc
    return error


@dataclass(frozen=True, slots=True)
class Engines:
    """A read engine and a write engine: two engines on one file on SQLite; on PostgreSQL
    a pool for transactions and a pool in autocommit mode for reads and lone statements.

    ``single`` runs one self-contained statement: on PostgreSQL in autocommit mode, which
    spares the ``BEGIN`` and ``COMMIT`` round trips (a statement is atomic on its own);
    on SQLite it is the write engine.

    ``claims`` runs job claims: on PostgreSQL a small autocommit pool whose commits do
    not wait for the WAL flush (``synchronous_commit = off``). A claim lost in a
    database crash leaves its job ``available``, attempt unused, as a rescue would; and
    any later durable commit (the job's completion) flushes the claim before it, so a
    recorded outcome never outlives its claim. That spares one disk flush per claim
    (docs/decisions.md, "Claims commit asynchronously"). On SQLite it is the write engine.
    """

    read: Engine
    write: Engine
    single: Engine
    owned: tuple[Engine, ...]  # the engines that own a pool
    claims: Engine
    #: SQLite: the store's write transactions of this process queue here, not in SQLite's
    #: busy handler, which sleeps 1, 2, 5, 10 ms... between tries: four runners completing
    #: assets of a fan-out at once waited milliseconds each for a commit of microseconds.
    serial: threading.RLock | None = None
    #: SQLite: checkpoints the WAL off the commits' path (``checkpoint.py``).
    checkpointer: Checkpointer | None = None
    #: SQLite: the write connection of ``DriverTransaction`` (``held.py``).
    held: HeldConnection | None = None
    #: PostgreSQL: the autocommit pools, where a ``Transaction`` skips ``begin()`` (``transaction``).
    autocommit: tuple[Engine, ...] = ()

    @property
    def dialect(self) -> str:
        return self.write.dialect.name

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        if self.held is not None:
            self.held.close()
        for engine in self.owned:
            engine.dispose()


def serialize(engines: Engines, engine: Engine, timeout: float) -> threading.RLock | None:
    """Hold ``engines.serial`` for a write transaction on ``engine`` (SQLite's write engine);
    the lock held, or None (PostgreSQL, a read, or a wait past ``timeout``: then SQLite's
    own busy timeout decides, as without the lock)."""
    serial = engines.serial
    if serial is None or engine is not engines.write:
        return None
    return serial if serial.acquire(timeout=timeout) else None


def _sqlite_engine(url: URL, begin: str, timeouts: Timeouts, *, writes: bool = False) -> Engine:
    # A local file: opening it never waits; what waits is a write for another process's
    # lock, for as long as a statement may take.
    engine = create_engine(
        url,
        connect_args={"timeout": timeouts.statement, "check_same_thread": False},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={timeouts.statement_ms}")
        _retry_locked(lambda: cursor.execute("PRAGMA journal_mode=WAL"))
        cursor.execute("PRAGMA synchronous=NORMAL")
        if writes:  # the Checkpointer's thread checkpoints instead of a commit
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # On the driver's connection directly: through SQLAlchemy's execute machinery a
        # BEGIN cost as much Python as a statement, once per transaction.
        try:
            connection.connection.dbapi_connection.execute(begin)
        except sqlite3.Error as exc:
            raise OperationalError(begin, None, exc) from exc

    return engine


def _retry_locked(action: Callable[[], object], attempts: int = 20) -> None:
    """Retry a statement that SQLite refuses with "database is locked" without waiting.

    Switching a new database file to WAL needs an exclusive lock, and SQLite does not
    always run the busy handler for it: several processes opening a fresh file at once can
    be refused. The mode is persistent, so a short bounded retry settles it.
    """
    pause = threading.Event()
    for attempt in range(attempts):
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            pause.wait(min(0.01 * 2**attempt, 0.5))


def create_engines(url: str, timeouts: Timeouts | None = None) -> Engines:
    """Engines for ``url``; raises ``StoreUnavailableError`` for a URL that cannot work."""
    timeouts = timeouts or Timeouts()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailableError(f"invalid database URL {mask(url)}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            raise StoreUnavailableError(
                "an in-memory SQLite URL would give every connection its own empty database; "
                "use database_url=None for an in-memory node, or a file: sqlite:///path/flowstone.db"
            )
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        read = _sqlite_engine(parsed, "BEGIN", timeouts)
        write = _sqlite_engine(parsed, "BEGIN IMMEDIATE", timeouts, writes=True)
        for each in (read, write):
            _close_when_outlived(each)
        serial, checkpointer = threading.RLock(), Checkpointer.of(write)
        held = HeldConnection(write, serial)
        return Engines(read, write, write, (read, write), write, serial, checkpointer, held)
    connect_args = timeouts.postgres_connect_args() if parsed.get_backend_name() == "postgresql" else {}
    try:
        engine = create_engine(parsed, pool_size=10, max_overflow=20, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreUnavailableError(
            f"no driver for {mask(url)}: {exc}; for PostgreSQL install flowstone[postgres] "
            "and use a postgresql+psycopg:// URL"
        ) from exc
    # A pool of its own, whose connections stay in autocommit mode: switching one pooled
    # connection's isolation level on every checkout and back on checkin, and rolling it
    # back on return, cost as much Python as the statement it ran.
    autocommit = create_engine(
        parsed,
        pool_size=10,
        max_overflow=20,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        connect_args=connect_args,
    )
    # Claims: autocommit too, and their commits do not wait for the disk (``Engines``).
    claims = create_engine(
        parsed,
        pool_size=4,
        max_overflow=16,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        connect_args=connect_args,
    )
    pools = (engine, autocommit, claims)
    for each in pools:
        _ping_idle_connections(each)
        _close_when_outlived(each)
    if parsed.get_backend_name() == "postgresql":
        for each in pools:
            _limit_statements(each, timeouts, relaxed=each is claims)
    _share_disconnects(*pools)
    return Engines(autocommit, engine, autocommit, pools, claims, autocommit=(autocommit, claims))


def _limit_statements(engine: Engine, timeouts: Timeouts, *, relaxed: bool = False) -> None:
    """Set ``statement_timeout`` on each new connection, for the server to cancel a slow
    statement (a ``SET``, not a ``-c`` startup option, which poolers such as PgBouncer refuse);
    ``relaxed``: and ``synchronous_commit = off`` (the claims' pool, see ``Engines``).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {timeouts.statement_ms}")
        if relaxed:
            cursor.execute("SET synchronous_commit = off")
        cursor.close()
        dbapi_connection.commit()


def _share_disconnects(*engines: Engine) -> None:
    """A lost connection in one pool means the database went away for the others too.

    SQLAlchemy invalidates every connection of the pool that saw the error; the other
    pools are emptied as well, so that the first statement after the database is back
    does not run on a dead connection.
    """
    for engine in engines:
        others = [other for other in engines if other is not engine]

        def on_error(context: Any, others: list[Engine] = others) -> None:
            if context.is_disconnect:
                for other in others:
                    other.dispose()

        event.listen(engine, "handle_error", on_error)


def _close_when_outlived(engine: Engine) -> None:
    """Close a connection that comes back after its pool was disposed.

    ``Engine.dispose`` (on closing the store, or on a disconnect seen by another pool)
    closes the connections checked in; one checked out by a thread still at work went
    back to the old pool later and stayed open until that pool was garbage collected,
    when the driver warned that an open connection was deleted. Each connection is
    tagged with the pool's generation; one from an earlier generation is invalidated
    (closed) as it is checked in.
    """
    generation = [0]

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info["flowstone.generation"] = generation[0]

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None and record.info.get("flowstone.generation") != generation[0]:
            record.invalidate()

    @event.listens_for(engine, "engine_disposed")
    def _on_disposed(_engine: Any) -> None:
        generation[0] += 1


def _ping_idle_connections(engine: Engine) -> None:
    """Test a pooled connection before use when it has been idle, and replace it if dead.

    ``pool_pre_ping`` pings on every checkout: a round trip per transaction, a fifth of a
    job's cost. A connection in steady use has just proved itself; one that sat idle may
    have been cut (a database restart, a proxy's idle timeout). A connection that breaks
    in use is still caught: the driver's error marks it, and every connection of the pool
    from before it, invalid, so the next operation reconnects.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any failure means: replace this connection
            raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


@contextlib.contextmanager
def translate(url: str, doing: str) -> Iterator[None]:
    """Turn a driver's connection error into ``StoreUnavailableError``."""
    try:
        yield
    except DBAPIError as exc:
        if is_connection_error(exc):
            raise unavailable(url, exc, doing) from exc
        raise


def is_connection_error(exc: BaseException) -> bool:
    """A lost or refused connection (or a database locked past its timeout, or a file that
    is not a database), not a bad query."""
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, OperationalError | InterfaceError)
        or is_corrupt_file(exc)
    )


def is_corrupt_file(exc: BaseException) -> bool:
    """SQLite found the file is not a database (random bytes, text, a bad header) or is
    damaged (a truncated file): no statement can work until the file is replaced."""
    reason = getattr(exc, "orig", None)
    name = getattr(reason, "sqlite_errorname", "")
    return isinstance(reason, sqlite3.DatabaseError) and name.startswith(_CORRUPT)


_CORRUPT = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
