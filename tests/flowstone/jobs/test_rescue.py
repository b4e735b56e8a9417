"""Orphan rescue: jobs of dead nodes go back to work, and zombie acknowledgements are fenced."""

from __future__ import annotations

from pathlib import Path

from job_pipelines import Probe, pipeline
from job_support import Database, StartNode, StartWorker, lines, stays

import flowstone as fs
from supervisors.testing import wait_for


def state_becomes(node: fs.Node, job_id: int, state: str, timeout: float = 10.0) -> fs.JobInfo:
    return wait_for(
        lambda: (info := node.jobs.get(job_id)).state == state and info,
        timeout=timeout,
        message=f"job {job_id} {state}",
    )


class TestRescueInProcess:
    def test_a_job_executing_on_a_dead_node_goes_back_to_available(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(rescue_after=1.0)  # no queues: nothing here claims the job again
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "dead-node", 1)  # "dead-node" never heartbeats
        info = handle.status()
        assert (info.state, info.attempted_by, info.attempt) == ("executing", "dead-node", 1)
        db.backdate(job.id, "attempted_at")
        info = state_becomes(node, job.id, "available")
        assert info.attempt == 1  # the lost attempt counts, as in Oban

    def test_a_rescued_job_with_no_attempts_left_is_discarded(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(rescue_after=1.0, job_retry=fs.Retry(max_attempts=1))
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "dead-node", 1)
        db.backdate(job.id, "attempted_at")
        info = state_becomes(node, job.id, "discarded")
        assert (info.attempt, info.max_attempts) == (1, 1)
        assert handle.status().state == "discarded"

    def test_a_zombie_acknowledgement_after_the_rescue_changes_nothing(
        self, start_node: StartNode, db: Database, probe: Probe
    ) -> None:
        node = start_node(rescue_after=1.0)
        handle = node.submit(pipeline, "value")
        [zombie] = node.jobs.table.claim("assets", "dead-node", 1)
        db.backdate(zombie.id, "attempted_at")
        state_becomes(node, zombie.id, "available")
        assert node.jobs.table.complete(zombie, "dead-node", None) is False
        assert node.jobs.table.fail(zombie, "dead-node", "late failure", None) is False
        assert node.jobs.table.snooze(zombie, "dead-node", 1.0) is False
        info = handle.status()
        assert (info.state, info.attempt, info.errors) == ("available", 1, [])
        # A live node runs it again (attempt 2); the zombie still cannot count.
        [live] = node.jobs.table.claim("assets", node.id, 1)
        assert live.attempt == 2
        assert node.jobs.table.complete(zombie, "dead-node", None) is False
        assert node.jobs.table.complete(live, node.id, None) is True
        assert handle.status().state == "completed"

    def test_a_job_of_a_live_node_is_not_rescued(self, start_node: StartNode, db: Database) -> None:
        node = start_node(rescue_after=1.0)
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", node.id, 1)  # this node heartbeats
        db.backdate(job.id, "attempted_at")
        live = node.jobs.table.live_nodes(within=1.0)
        assert [n["node_id"] for n in live] == [node.id]
        assert stays(lambda: handle.status().state != "executing", within=1.5)  # six ticks
        assert handle.status().state == "executing"
        assert node.jobs.table.complete(job, node.id, None) is True


class TestKilledWorker:
    def test_a_job_of_a_killed_worker_completes_once_on_another_worker(
        self,
        start_node: StartNode,
        start_worker: StartWorker,
        database_url: str,
        db: Database,
        tmp_path: Path,
    ) -> None:
        node = start_node()  # enqueues only; its schema is ready before the workers start
        first = start_worker(database_url)
        handle = node.submit(pipeline, "blocker", partition="k")
        wait_for(lambda: lines(tmp_path / "started"), timeout=30, message="the blocker started")
        assert handle.status().state == "executing"
        first.process.kill()  # kill -9, mid-job
        first.process.wait(timeout=10)
        (tmp_path / "release").touch()
        second = start_worker(database_url)
        assert handle.wait(60) == "blocker:k", second.output()

        started = lines(tmp_path / "started")
        assert len(started) == 2
        assert started[0].split()[0] == str(first.process.pid)
        assert started[1] == f"{second.process.pid} 2"  # attempt 2: the rescue counted one
        assert lines(tmp_path / "completed") == [f"{second.process.pid} 2"]
        info = handle.status()
        assert (info.state, info.attempt) == ("completed", 2)
        completed = db.rows(
            "SELECT run_id FROM flowstone_materializations WHERE asset = 'blocker' AND status = 'completed'"
        )
        assert len(completed) == 1
        assert completed[0][0] == info.run_id
        assert node.status(pipeline, "blocker", "k").state == "completed"
