"""Issue 16, seed weakness 10: one route decision per (run, router, partition), the first
one wins (a database constraint, also for the unpartitioned partition), and decisions
never pile up, under each policy, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

import flowstone as fs
from flowstone._routing import Decision, MemoryDecisions, RouteDecisions
from flowstone._routing.sql import SQLDecisions
from flowstone._store.sql import SQLStore
from supervisors.testing import wait_for


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A plain SQLAlchemy engine on the test database, not the store's."""
    fs.start(database_url=database_url).stop()  # migrated
    created = create_engine(database_url)
    yield created
    created.dispose()


def rows(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM flowstone_route_decisions")).scalar_one())


def decision(
    run_id: str = "r1", branch: str | None = "fast", key: str = "null", at: datetime | None = None
) -> Decision:
    return Decision(
        run_id=run_id,
        router="choose",
        partition_key=key,
        pipeline="p",
        branch=branch,
        at=at or datetime.now(UTC),
    )


def counted_router(seen: Callable[[], None] = lambda: None, name: str = "decided") -> fs.Pipeline:
    p = fs.Pipeline(name)

    @p.router(branches=("fast", "slow"))
    def choose(ctx: fs.Context) -> str:
        return "fast" if (ctx.partition or 0) % 2 == 0 else "slow"

    @p.asset(routed_from="choose")
    def fast(ctx: fs.Context) -> str:
        seen()
        return "fast"

    @p.asset(routed_from="choose")
    def slow(ctx: fs.Context) -> str:
        seen()
        return "slow"

    @p.asset(optional=("fast", "slow"))
    def report(ctx: fs.Context, fast: str | None = None, slow: str | None = None) -> Any:
        return fast or slow

    return p


class TestTheConstraint:
    def test_the_database_refuses_a_second_decision_for_the_unpartitioned_partition(
        self, engine: Engine
    ) -> None:
        insert = text(
            "INSERT INTO flowstone_route_decisions (run_id, pipeline, router, partition_key, branch, "
            "fallback, decided_at) VALUES ('r', 'p', 'choose', 'null', :branch, false, :at)"
        )
        with engine.begin() as c:
            c.execute(insert, {"branch": "fast", "at": datetime.now(UTC)})
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(insert, {"branch": "slow", "at": datetime.now(UTC)})
        assert rows(engine) == 1

    def test_the_first_decision_wins(self, database_url: str, engine: Engine) -> None:
        store = SQLStore(database_url)
        store.open()
        try:
            table = SQLDecisions(store)
            assert table.first(decision(branch="fast")).branch == "fast"
            assert table.first(decision(branch="slow")).branch == "fast"
            assert table.first(decision(branch=None, key="d:2025-01-01")).branch is None
            assert table.get("r1", "choose", "null") == decision(
                branch="fast", at=table.get("r1", "choose", "null").at
            )  # type: ignore[union-attr]
            assert table.count() == 2
        finally:
            store.close()

    def test_racing_deciders_all_take_the_first_branch(self, database_url: str, engine: Engine) -> None:
        store = SQLStore(database_url)
        store.open()
        try:
            decisions = RouteDecisions("run", table=SQLDecisions(store))
            start = threading.Barrier(4)
            taken: list[str | None] = []

            def decide(branch: str) -> None:
                start.wait()
                taken.append(decisions.decide("r1", "choose", "null", lambda: decision(branch=branch)).branch)

            threads = [threading.Thread(target=decide, args=(b,)) for b in ("fast", "slow", "fast", "slow")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert len(taken) == 4
            assert len(set(taken)) == 1
            assert rows(engine) == 1
        finally:
            store.close()


class TestPoliciesOnADatabase:
    RUNS = 100

    def test_run_keeps_a_decision_while_its_run_goes_on_and_deletes_it_at_its_end(
        self, database_url: str, engine: Engine
    ) -> None:
        during: list[int] = []
        p = counted_router(lambda: during.append(rows(engine)))
        with fs.start(database_url=database_url) as node:
            for partition in range(self.RUNS):
                node.run(p, "report", partition=partition)
        assert during == [1] * self.RUNS
        assert rows(engine) == 0

    def test_run_deletes_a_failed_runs_decisions_too(self, database_url: str, engine: Engine) -> None:
        p = fs.Pipeline("failing")

        @p.router(branches=("fast",))
        def choose(ctx: fs.Context) -> str:
            return "fast"

        @p.asset(routed_from="choose")
        def fast(ctx: fs.Context) -> str:
            raise RuntimeError("boom")

        with fs.start(database_url=database_url) as node:
            for _ in range(3):
                with pytest.raises(fs.MaterializationError):
                    node.run(p, "fast", force=True)
                node.invalidate(p, "choose")
        assert rows(engine) == 0

    def test_none_never_writes_a_decision(self, database_url: str, engine: Engine) -> None:
        during: list[int] = []
        p = counted_router(lambda: during.append(rows(engine)))
        with fs.start(database_url=database_url, route_decisions="none") as node:
            for partition in range(self.RUNS):
                assert node.run(p, "report", partition=partition) == (
                    "fast" if partition % 2 == 0 else "slow"
                )
            assert node._services.decisions.table.count() == 0
        assert during == [0] * self.RUNS
        assert rows(engine) == 0

    def test_keep_keeps_them_for_the_ttl_and_the_pruner_deletes_them(
        self, database_url: str, engine: Engine
    ) -> None:
        p = counted_router()
        with fs.start(database_url=database_url, route_decisions="keep") as node:
            for partition in range(self.RUNS):
                node.run(p, "report", partition=partition)
        assert rows(engine) == self.RUNS
        # A node that keeps up prunes, one at a time (the pruner lease), every tick.
        with fs.start(
            database_url=database_url,
            route_decisions="keep",
            route_decision_ttl=0.05,
            upkeep=True,
            rescue_after=0.2,
        ):
            wait_for(lambda: rows(engine) == 0, timeout=10, message="decisions pruned")

    def test_keep_keeps_younger_decisions(self, database_url: str, engine: Engine) -> None:
        store = SQLStore(database_url)
        store.open()
        try:
            now = datetime.now(UTC)
            decisions = RouteDecisions("keep", ttl=3600, table=SQLDecisions(store), now=lambda: now)
            decisions.table.first(decision("old", at=now - timedelta(hours=2)))
            decisions.table.first(decision("young", at=now - timedelta(minutes=10)))
            assert decisions.prune() == 1
            assert decisions.table.get("young", "choose", "null") is not None
            assert decisions.table.get("old", "choose", "null") is None
        finally:
            store.close()

    @pytest.mark.slow
    @pytest.mark.parametrize("policy", ["run", "keep", "none"])
    def test_a_thousand_runs_leave_the_table_bounded(
        self, database_url: str, engine: Engine, policy: str
    ) -> None:
        p = counted_router()
        with fs.start(database_url=database_url, route_decisions=policy) as node:  # type: ignore[arg-type]
            report = node.backfill(p, "report", range(1000), parallel=4)
        assert report.succeeded == 1000
        assert rows(engine) == (1000 if policy == "keep" else 0)
        if policy == "keep":
            with fs.start(
                database_url=database_url,
                route_decisions="keep",
                route_decision_ttl=0.05,
                upkeep=True,
                rescue_after=0.2,
            ):
                wait_for(lambda: rows(engine) == 0, timeout=20, message="decisions pruned")


class TestPoliciesInMemory:
    def test_run_and_none_leave_nothing_behind(self) -> None:
        for policy in ("run", "none"):
            with fs.start(route_decisions=policy) as node:  # type: ignore[arg-type]
                p = counted_router(name=f"in-memory-{policy}")
                for partition in range(100):
                    node.run(p, "report", partition=partition)
                assert node._services.decisions.table.count() == 0

    def test_keep_prunes_itself_past_the_ttl(self) -> None:
        clock = [datetime(2026, 1, 1, tzinfo=UTC)]
        decisions = RouteDecisions("keep", ttl=60, now=lambda: clock[0])
        assert isinstance(decisions.table, MemoryDecisions)
        for run in (f"r{n}" for n in range(50)):
            decisions.decide(run, "choose", "null", lambda run=run: decision(run, at=clock[0]))  # type: ignore[misc]
        assert decisions.table.count() == 50
        clock[0] += timedelta(seconds=61)
        decisions.decide("late", "choose", "null", lambda: decision("late", at=clock[0]))
        assert decisions.table.count() == 1

    def test_the_first_decision_wins_in_memory_too(self) -> None:
        decisions = RouteDecisions("none")
        first = decisions.decide("r", "choose", "null", lambda: decision(branch="fast"))
        again = decisions.decide("r", "choose", "null", lambda: decision(branch="slow"))
        assert first.branch == again.branch == "fast"
