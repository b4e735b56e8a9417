"""``survey``, behind ``flowstone health``: the database, its nodes and queues, read only.

The command-line tests run it end to end; these read rows written here, on SQLite and
PostgreSQL, to pin down each verdict [issues 12.3, 12.14, 13.9].
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from job_pipelines import pipeline
from job_support import LONG_AGO, Database, StartNode

from flowstone._jobs.survey import survey
from flowstone._store.sql.migrate import VERSION_TABLE, head_revision


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


@pytest.fixture
def migrated(start_node: StartNode, database_url: str) -> str:
    """A migrated database with no node left on it."""
    start_node().stop()
    return database_url


class TestSchema:
    def test_a_migrated_database_without_nodes_or_jobs_is_ok(self, migrated: str) -> None:
        found = survey(migrated, 5.0)
        assert found.health.status == "ok", found.to_dict()
        assert set(found.health.checks) == {"store", "schema", "runners"}
        assert found.health.checks["runners"].detail == "no node heart-beats on this database"

    @pytest.mark.parametrize(
        ("revision", "advice"), [("0003", "run flowstone db upgrade"), ("0099", "upgrade FlowStone")]
    )
    def test_a_schema_at_another_revision_is_degraded_and_left_as_it_is(
        self, migrated: str, db: Database, revision: str, advice: str
    ) -> None:
        db.execute(f"UPDATE {VERSION_TABLE} SET version_num = :r", r=revision)
        try:
            found = survey(migrated, 5.0)
            assert db.rows(f"SELECT version_num FROM {VERSION_TABLE}") == [(revision,)]
        finally:  # the PostgreSQL database serves the whole session
            db.execute(f"UPDATE {VERSION_TABLE} SET version_num = :r", r=head_revision())
        assert found.health.status == "degraded"
        check = found.health.checks["schema"]
        assert not check.ok
        assert revision in check.detail
        assert head_revision() in check.detail
        assert advice in check.detail


class TestNodes:
    def test_a_node_is_live_or_stale_by_its_own_rescue_after(self, migrated: str, db: Database) -> None:
        db.add_node("patient", ago(100), rescue_after=300.0, queues='{"assets": 2}')
        db.add_node("gone", ago(5), rescue_after=1.0)
        found = survey(migrated, 5.0)
        assert {beat.node_id: beat.stale for beat in found.nodes} == {"patient": False, "gone": True}
        assert found.health.status == "degraded"
        runners = found.health.checks["runners"]
        assert not runners.ok
        assert runners.detail.startswith("1 live: patient on elsewhere (pid 1, works assets=2)")
        assert "1 stale" in runners.detail
        assert "gone on elsewhere (pid 1, submits only), last heartbeat 5" in runners.detail
        assert "rescue_after 1 s" in runners.detail

    def test_a_node_of_an_older_version_is_judged_by_the_default_rescue_after(
        self, migrated: str, db: Database
    ) -> None:
        db.add_node("old", ago(30))  # no rescue_after: written before it was recorded
        db.add_node("older", ago(90))
        found = survey(migrated, 5.0)
        assert {beat.node_id: beat.stale for beat in found.nodes} == {"old": False, "older": True}


class TestQueues:
    def test_idle_workers_that_claim_nothing_make_a_waiting_queue_unhealthy(
        self, migrated: str, db: Database, start_node: StartNode
    ) -> None:
        node = start_node()
        handle = node.submit(pipeline, "value")
        node.stop()
        db.backdate(handle.id, "scheduled_at", ago(120))
        db.add_node("stuck", ago(0), rescue_after=60.0, queues='{"assets": 2}')
        found = survey(migrated, 5.0)
        check = found.health.checks["queue:assets"]
        assert not check.ok
        assert "2 workers alive, 0 busy; 1 waiting, the oldest for 12" in check.detail
        assert "idle workers have claimed nothing" in check.detail
        [queue] = found.queues
        assert queue.to_dict()["workers"] == 2

    def test_a_queue_whose_workers_are_all_busy_is_behind_not_unhealthy(
        self, migrated: str, db: Database, start_node: StartNode
    ) -> None:
        node = start_node()
        running = node.submit(pipeline, "value", partition="running")
        waiting = node.submit(pipeline, "value", partition="waiting")
        node.jobs.table.claim("assets", "busy", 1)
        node.stop()
        db.backdate(running.id, "attempted_at", LONG_AGO)
        db.backdate(waiting.id, "scheduled_at", ago(120))
        db.add_node("busy", ago(0), rescue_after=60.0, queues='{"assets": 1}')
        check = survey(migrated, 5.0).health.checks["queue:assets"]
        assert check.ok, check.detail
        assert "1 worker alive, 1 busy; 1 waiting" in check.detail

    def test_a_stale_nodes_workers_do_not_count(
        self, migrated: str, db: Database, start_node: StartNode
    ) -> None:
        node = start_node()
        node.submit(pipeline, "value")
        node.stop()
        db.add_node("dead", ago(600), rescue_after=60.0, queues='{"assets": 4}')
        check = survey(migrated, 5.0).health.checks["queue:assets"]
        assert not check.ok
        assert "0 workers alive" in check.detail
        assert "no worker alive works this queue" in check.detail
