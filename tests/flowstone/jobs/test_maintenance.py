"""The maintenance actor back from an outage: it lets the others check in before it rescues.

[issue 12.8] Every heartbeat is late after an outage longer than ``rescue_after``; the first
node back must not take the others' jobs for a dead node's. The actor runs here on a manual
clock, over a job table the test cuts off (an outage as the actor sees it) while the rows
stay in the real database, on SQLite and PostgreSQL. The last test is the same outage
through TCP proxies on PostgreSQL, with two real nodes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from job_pipelines import Probe, pipeline
from job_support import LONG_AGO, Database, StartNode, stays
from sqlalchemy.engine import make_url

import flowstone as fs
from flowstone._jobs.maintenance import MaintenanceActor, MaintenanceEnv
from flowstone._jobs.table import JobTable
from supervisors import ActorRef
from supervisors.testing import ManualClock, wait_for
from tests.flowstone.store.tcp_proxy import TcpProxy

INTERVAL = 0.25  # the heartbeat period of the rescuer (rescue_after 1 s)
PEER_RESCUE_AFTER = 10.0  # the peer's: late after 10 s, given 5 s (two periods) after an outage


class CutOff:
    """The job table with the database cut off on demand: every call refuses while ``down``;
    while ``hang`` is set, a heartbeat blocks until it is cleared (a statement that hangs)."""

    def __init__(self, table: JobTable) -> None:
        self._table = table
        self.down = False
        self.hang: threading.Event | None = None
        self.hanging = threading.Event()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._table, name)
        hang = self.hang
        if name == "heartbeat" and hang is not None:

            def hung(*args: Any, **kwargs: Any) -> Any:
                self.hanging.set()
                assert hang.wait(10), "the test never let the heartbeat through"
                return attribute(*args, **kwargs)

            return hung
        if not self.down:
            return attribute

        def refused(*_args: Any, **_kwargs: Any) -> Any:
            raise fs.StoreUnavailableError("the database is cut off (test)")

        return refused


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def table(start_node: StartNode) -> CutOff:
    """The table of a node that only migrated the database (it neither rescues nor claims)."""
    return CutOff(start_node().jobs.table)


@pytest.fixture
def orphan(start_node: StartNode, db: Database) -> int:
    """A job executing on ``peer``, a node heart-beating now (rescue_after 10 s)."""
    node = start_node()
    handle = node.submit(pipeline, "value")
    node.jobs.table.claim("assets", "peer", 1)
    db.backdate(handle.id, "attempted_at", LONG_AGO)
    db.add_node("peer", datetime.now(UTC), rescue_after=PEER_RESCUE_AFTER)
    return handle.id


@pytest.fixture
def rescuer(orphan: int, table: CutOff, clock: ManualClock) -> Iterator[Callable[[float], None]]:
    """A maintenance actor that rescues (rescue_after 1 s) on the manual clock, started once
    the orphan exists; ``rescuer(seconds)`` lets that much time pass, one heartbeat period at
    a time, and waits for each tick to be done."""
    env = MaintenanceEnv(
        node_id="rescuer",
        name="rescuer",
        table=table,  # type: ignore[arg-type]
        queues={},
        rescue_after=1.0,
        prune_after=86400.0,
        clock=clock,
        snapshot=lambda: None,
        upkeep=True,
    )
    ref: ActorRef = MaintenanceActor.start(env)
    assert ref.ask("ping", timeout=10) == "pong"  # its first tick is done, its timer set

    def ticks(seconds: float = INTERVAL) -> None:
        for _ in range(round(seconds / INTERVAL)):
            clock.advance(INTERVAL)
            assert ref.ask("ping", timeout=10) == "pong"  # answered after the tick just sent

    yield ticks
    table.down = False
    if table.hang is not None:
        table.hang.set()
    ref.stop()


def job_state(db: Database, job_id: int) -> tuple[str, int]:
    [(state, attempt)] = db.rows("SELECT state, attempt FROM flowstone_jobs WHERE id = :i", i=job_id)
    return state, attempt


def late(db: Database) -> None:
    """The peer's last heartbeat is older than its rescue_after: dead, or as cut off as we were."""
    db.set_heartbeat("peer", datetime.now(UTC) - timedelta(seconds=3 * PEER_RESCUE_AFTER))


def cut_off(table: CutOff, rescuer: Callable[[float], None], seconds: float) -> None:
    table.down = True
    rescuer(seconds)
    table.down = False


class TestBackFromAnOutage:
    def test_a_rescuer_that_was_never_cut_off_rescues_a_late_node_at_once(
        self, orphan: int, rescuer: Callable[[float], None], db: Database
    ) -> None:
        rescuer(INTERVAL)
        assert job_state(db, orphan) == ("executing", 1)  # the peer is alive
        late(db)
        rescuer(INTERVAL)
        assert job_state(db, orphan) == ("available", 1)

    def test_a_rescuer_back_from_an_outage_waits_for_the_others_to_check_in(
        self, orphan: int, table: CutOff, rescuer: Callable[[float], None], db: Database
    ) -> None:
        cut_off(table, rescuer, 1.5)  # longer than its rescue_after
        late(db)  # the peer was cut off too
        rescuer(INTERVAL)  # back: its heartbeat goes through, its rescue waits
        assert job_state(db, orphan) == ("executing", 1)
        db.set_heartbeat("peer", datetime.now(UTC))  # the peer checks in
        rescuer(PEER_RESCUE_AFTER)  # past the two periods it was given
        assert job_state(db, orphan) == ("executing", 1)

    def test_a_node_that_does_not_check_in_after_the_outage_is_rescued_after_two_of_its_periods(
        self, orphan: int, table: CutOff, rescuer: Callable[[float], None], db: Database
    ) -> None:
        cut_off(table, rescuer, 1.5)
        late(db)
        rescuer(INTERVAL)  # back
        rescuer(PEER_RESCUE_AFTER / 2 - INTERVAL)  # back for 4.75 s: the peer may still check in
        assert job_state(db, orphan) == ("executing", 1)
        rescuer(INTERVAL)  # back for 5 s: two of the peer's heartbeat periods
        assert job_state(db, orphan) == ("available", 1)

    def test_a_heartbeat_that_hung_past_rescue_after_counts_as_an_outage(
        self, orphan: int, table: CutOff, rescuer: Callable[[float], None], clock: ManualClock, db: Database
    ) -> None:
        late(db)
        table.hang = threading.Event()
        clock.advance(INTERVAL)  # the tick starts; its heartbeat hangs
        assert table.hanging.wait(10)
        clock.advance(1.5)  # no timer is pending: the hung tick schedules the next one
        table.hang.set()  # the statement goes through after 1.5 s
        table.hang = None
        rescuer(INTERVAL)
        assert job_state(db, orphan) == ("executing", 1)


@pytest.mark.slow
def test_after_a_postgresql_outage_longer_than_rescue_after_no_live_job_runs_twice(
    postgres_database: str, probe: Probe, db_pg: Database
) -> None:
    """The reported scenario: two nodes cut off for longer than rescue_after; the first
    back must not rescue the other's job, which is still running."""
    target = make_url(postgres_database)
    proxies = [TcpProxy((target.host or "127.0.0.1", target.port or 5432)) for _ in range(2)]
    nodes: list[fs.Node] = []
    try:
        for proxy in proxies:
            proxy.start()
        via = [
            target.set(host="127.0.0.1", port=p.port).render_as_string(hide_password=False) for p in proxies
        ]
        options: dict[str, Any] = {
            "resources": {"probe": probe},
            "poll_interval": 0.05,
            "shutdown_grace": 2.0,
        }
        entered = probe.hold("value")
        worker = fs.start(database_url=via[0], queues={"assets": 1}, rescue_after=1.0, **options)
        nodes.append(worker)
        handle = worker.submit(pipeline, "value")
        assert entered.wait(10)
        other = fs.start(database_url=via[1], queues={"other": 1}, rescue_after=1.0, **options)
        nodes.append(other)

        def heartbeat_age(node: fs.Node) -> float:
            [(age,)] = db_pg.rows(
                "SELECT EXTRACT(EPOCH FROM now() - heartbeat_at) FROM flowstone_nodes WHERE node_id = :n",
                n=node.id,
            )
            return float(age)

        for proxy in proxies:
            proxy.stop()  # both cut off
        wait_for(lambda: heartbeat_age(worker) > 1.5, timeout=20, message="an outage past rescue_after")
        proxies[1].start()  # the other node is back first
        wait_for(lambda: heartbeat_age(other) < 0.5, timeout=20, message="the other node's heartbeat")
        proxies[0].start()  # the worker is back within its heartbeat period
        assert stays(lambda: job_state(db_pg, handle.id) != ("executing", 1), within=1.5)
        probe.gate.set()
        assert handle.wait(20) == "value:None"
        assert job_state(db_pg, handle.id) == ("completed", 1)
        assert len(probe.of("value")) == 1
    finally:
        probe.gate.set()
        for node in reversed(nodes):
            node.stop()
        for proxy in proxies:
            proxy.stop()


@pytest.fixture
def db_pg(postgres_database: str) -> Iterator[Database]:
    database = Database(postgres_database)
    yield database
    database.dispose()
