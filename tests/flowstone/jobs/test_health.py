"""``node.health()`` of a node with queues: one check per queue [issue 12.14].

Each reports the workers alive, the oldest waiting job's age and the last claim, and fails
(the node is ``degraded``) when jobs wait with no worker claiming them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from job_pipelines import pipeline
from job_support import Database, StartNode


class TestQueueChecks:
    def test_a_node_with_queues_reports_each_queue(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 2, "other": 1})
        health = node.health()
        assert health.status == "ok", health.to_dict()
        assert health.checks["queue:assets"].ok
        assert "2 workers alive" in health.checks["queue:assets"].detail
        assert "0 waiting" in health.checks["queue:assets"].detail
        assert "1 worker alive" in health.checks["queue:other"].detail

    def test_a_node_that_only_submits_has_no_queue_check(self, start_node: StartNode) -> None:
        health = start_node().health()
        assert not [name for name in health.checks if name.startswith("queue:")]

    def test_a_queue_that_claims_its_jobs_reports_the_last_claim(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        node.submit(pipeline, "value", partition="p").wait(10)
        check = node.health().checks["queue:assets"]
        assert check.ok, check.detail
        assert "last claim" in check.detail
        assert "ago" in check.detail

    def test_jobs_waiting_on_a_paused_queue_degrade_the_node(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(queues={"assets": 1})
        node.jobs.pause("assets")
        handle = node.submit(pipeline, "value", partition="held")
        db.backdate(handle.id, "scheduled_at", datetime.now(UTC) - timedelta(hours=1))
        health = node.health()
        assert health.status == "degraded"
        check = health.checks["queue:assets"]
        assert not check.ok
        assert "1 waiting" in check.detail
        assert "paused" in check.detail
        assert "oldest for 360" in check.detail  # about 3,600 s

    def test_jobs_waiting_on_a_queue_scaled_to_zero_degrade_the_node(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        node.jobs.scale("assets", 0)
        node.submit(pipeline, "value", partition="stuck")
        health = node.health()
        assert health.status == "degraded"
        check = health.checks["queue:assets"]
        assert not check.ok
        assert "no worker" in check.detail

    def test_jobs_scheduled_for_later_are_not_waiting(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        node.jobs.scale("assets", 0)
        node.submit(pipeline, "value", scheduled_at=datetime.now(UTC) + timedelta(hours=1))
        check = node.health().checks["queue:assets"]
        assert check.ok, check.detail
        assert "0 waiting" in check.detail

    def test_the_queue_check_is_a_plain_dict_for_tools(self, start_node: StartNode) -> None:
        data = start_node(queues={"assets": 1}).health().to_dict()
        assert data["checks"]["queue:assets"]["ok"] is True
        assert "1 worker alive" in data["checks"]["queue:assets"]["detail"]
