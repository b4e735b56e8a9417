"""SQLite: a completion written on the driver's connection, and checkpoints off the commits.

``DriverTransaction`` runs a completion's statements on ``sqlite3`` itself; these tests pin
what the SQLAlchemy transaction gave: a completion blocked by another client's lock
fails as ``StoreUnavailableError`` within the statement timeout, a failing statement
rolls the whole completion back, and the write works again afterwards. The
``Checkpointer`` thread must keep the WAL from growing though no commit checkpoints.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy.engine import make_url

from flowstone._store.records import Completion, RunStart
from flowstone._store.sql import checkpoint
from flowstone._store.sql.store import SQLStore
from flowstone.errors import StoreUnavailableError
from flowstone.io import AssetKey
from supervisors.testing import wait_for

PLAN = ("a", "b")


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SQLStore]:
    opened = SQLStore(sqlite_url, statement_timeout=0.3)
    opened.open()
    yield opened
    opened.close()


def _file(store: SQLStore) -> str:
    return make_url(store.url).database or ""


def _started(store: SQLStore, key: str) -> str:
    run_id = uuid.uuid4().hex
    store.start_run(
        RunStart(
            run_id=run_id,
            pipeline="p",
            asset="b",
            partition_key=key,
            plan=PLAN,
            options={},
            at=datetime.now(UTC),
            actor="test",
            running=("a",),
        )
    )
    return run_id


def _done(run_id: str, key: str, asset: str = "a") -> Completion:
    last = asset == PLAN[-1]
    return Completion(
        pipeline="p",
        asset=asset,
        partition_key=key,
        run_id=run_id,
        attempts=1,
        at=datetime.now(UTC),
        duration_ms=1.0,
        finishes_run=last,
        actor="test",
        then_running=() if last else ("b",),
        lineage=(("a", key),) if last else (),
    )


def io_key(asset: str, key: str) -> AssetKey:
    return AssetKey("p", asset, key)


def _rows(store: SQLStore, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(_file(store)) as connection:
        return list(connection.execute(sql, params))


class TestCompletionOnTheDriver:
    def test_a_chain_completes_with_its_value_lineage_run_close_and_audit_row(self, store: SQLStore) -> None:
        io = store.values()
        run_id = _started(store, "k")
        assert store.complete(_done(run_id, "k"), io, 1)
        assert store.complete(_done(run_id, "k", "b"), io, 2)
        assert io.load(io_key("b", "k")) == 2
        statuses = _rows(store, "SELECT asset, status FROM flowstone_materializations ORDER BY asset")
        assert statuses == [("a", "completed"), ("b", "completed")]
        assert _rows(store, "SELECT status FROM flowstone_runs") == [("completed",)]
        assert store.upstream_versions("p", "b", "k") == [("a", "k", run_id)]
        events = [e.event_type for e in store.audit_entries(10)]
        assert events == ["run.finished", "run.started"]

    def test_a_repeated_completion_changes_nothing_and_answers_false(self, store: SQLStore) -> None:
        run_id = _started(store, "k")
        assert store.complete(_done(run_id, "k"), store.values(), 1)
        assert not store.complete(_done(run_id, "k"), store.values(), 99)
        assert store.values().load(io_key("a", "k")) == 1

    @pytest.mark.timeout(30)
    def test_a_completion_blocked_by_another_client_fails_as_unavailable_and_works_after(
        self, store: SQLStore
    ) -> None:
        run_id = _started(store, "k")
        holder = sqlite3.connect(_file(store), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailableError, match="statement_timeout"):
                store.complete(_done(run_id, "k"), store.values(), 1)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert store.complete(_done(run_id, "k"), store.values(), 1)

    def test_a_failing_statement_rolls_the_whole_completion_back(self, store: SQLStore) -> None:
        io = store.values()
        run_id = _started(store, "k")
        assert store.complete(_done(run_id, "k"), io, 1)
        with sqlite3.connect(_file(store)) as connection:
            connection.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON flowstone_lineage "
                "BEGIN SELECT RAISE(ABORT, 'no'); END"
            )
        with pytest.raises(sqlalchemy.exc.IntegrityError, match="no"):
            store.complete(_done(run_id, "k", "b"), io, 2)
        assert _rows(store, "SELECT status FROM flowstone_materializations WHERE asset = 'b'") == [
            ("running",)
        ]
        assert _rows(store, "SELECT status FROM flowstone_runs") == [("running",)]
        assert not io.exists(io_key("b", "k"))
        with sqlite3.connect(_file(store)) as connection:
            connection.execute("DROP TRIGGER refuse")
        assert store.complete(_done(run_id, "k", "b"), io, 2)  # the connection went back usable


class TestCheckpoints:
    def test_commits_never_checkpoint_and_the_thread_keeps_the_wal_small(self, store: SQLStore) -> None:
        checkpointer = store.engines.checkpointer
        assert checkpointer is not None
        with store.engines.write.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        wal = Path(_file(store) + "-wal")
        io = store.values()
        sizes = []
        for round_ in range(6):
            before = checkpointer.checkpoints
            for i in range(checkpoint.EVERY // 2):
                key = f"{round_}-{i}"
                run_id = _started(store, key)  # two write commits per key
                assert store.complete(_done(run_id, key), io, b"x" * 2000)
            wait_for(lambda b=before: checkpointer.checkpoints > b, timeout=10.0, message="a checkpoint")
            sizes.append(os.path.getsize(wal))
        # Each round writes ~100 pages; unchecked, the WAL would hold all six rounds.
        assert max(sizes[2:]) <= 2 * sizes[0], sizes

    def test_the_thread_stops_with_the_store(self, sqlite_url: str) -> None:
        opened = SQLStore(sqlite_url)
        opened.open()
        checkpointer = opened.engines.checkpointer
        assert checkpointer is not None
        assert checkpointer.running
        opened.close()
        assert not checkpointer.running
