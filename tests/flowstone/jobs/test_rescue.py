"""Orphan rescue: jobs of dead nodes go back to work, and zombie acknowledgements are fenced.

Who rescues whom: a node is dead when its heartbeat is late by its *own* ``rescue_after``
(stored with the heartbeat), only workers (or nodes started with ``upkeep=True``) rescue,
and each rescue is recorded as an error of the lost attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from job_pipelines import Probe, pipeline
from job_support import Database, StartNode, StartWorker, lines, stays

import flowstone as fs
from supervisors.testing import wait_for

STOPPED = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)
ORPHANED = "orphaned: node dead-node stopped heart-beating at 2020-05-01T12:00:00+00:00"


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
        node = start_node(rescue_after=1.0, upkeep=True)  # no queues: nothing here claims it again
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
        node = start_node(rescue_after=1.0, upkeep=True, job_retry=fs.Retry(max_attempts=1))
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "dead-node", 1)
        db.backdate(job.id, "attempted_at")
        info = state_becomes(node, job.id, "discarded")
        assert (info.attempt, info.max_attempts) == (1, 1)
        assert handle.status().state == "discarded"

    def test_a_zombie_acknowledgement_after_the_rescue_changes_nothing(
        self, start_node: StartNode, db: Database, probe: Probe
    ) -> None:
        node = start_node(rescue_after=1.0, upkeep=True)
        handle = node.submit(pipeline, "value")
        [zombie] = node.jobs.table.claim("assets", "dead-node", 1)
        db.backdate(zombie.id, "attempted_at")
        state_becomes(node, zombie.id, "available")
        assert node.jobs.table.complete(zombie, "dead-node", None) is False
        assert node.jobs.table.fail(zombie, "dead-node", "late failure", None) is False
        assert node.jobs.table.snooze(zombie, "dead-node", 1.0) is False
        info = handle.status()
        assert (info.state, info.attempt) == ("available", 1)
        assert [e["attempt"] for e in info.errors] == [1]  # the rescue's, not the zombie's
        # A live node runs it again (attempt 2); the zombie still cannot count.
        [live] = node.jobs.table.claim("assets", node.id, 1)
        assert live.attempt == 2
        assert node.jobs.table.complete(zombie, "dead-node", None) is False
        assert node.jobs.table.complete(live, node.id, None) is True
        assert handle.status().state == "completed"

    def test_a_job_of_a_live_node_is_not_rescued(self, start_node: StartNode, db: Database) -> None:
        node = start_node(rescue_after=1.0, upkeep=True)
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", node.id, 1)  # this node heartbeats
        db.backdate(job.id, "attempted_at")
        live = node.jobs.table.live_nodes(within=1.0)
        assert [n["node_id"] for n in live] == [node.id]
        assert stays(lambda: handle.status().state != "executing", within=1.5)  # six ticks
        assert handle.status().state == "executing"
        assert node.jobs.table.complete(job, node.id, None) is True


class TestWhoRescues:
    """[issue 13.1] a health probe, an inspection command or a node that only submits never
    rescues a live worker's job: a node is dead by its own ``rescue_after``."""

    def test_a_node_that_only_submits_neither_rescues_nor_prunes_nor_takes_a_lease(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(rescue_after=1.0, prune_after=1.0)  # no queues
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "dead-node", 1)  # "dead-node" never heartbeats
        db.backdate(job.id, "attempted_at")
        assert stays(lambda: handle.status().state != "executing", within=1.0)  # four ticks
        assert db.rows("SELECT name FROM flowstone_leases") == []
        assert [n["node_id"] for n in node.jobs.table.live_nodes()] == [node.id]  # it heartbeats

    def test_a_node_started_with_upkeep_rescues_and_prunes_without_a_queue(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(rescue_after=1.0, upkeep=True)
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "dead-node", 1)
        db.backdate(job.id, "attempted_at")
        assert state_becomes(node, job.id, "available").id == handle.id
        assert db.rows("SELECT name, holder FROM flowstone_leases") == [("pruner", node.id)]

    def test_upkeep_must_be_a_bool(self, database_url: str) -> None:
        with pytest.raises(TypeError, match="upkeep"):
            fs.start(database_url=database_url, upkeep="yes")

    def test_the_heartbeat_records_the_nodes_own_rescue_after(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(rescue_after=12.5)
        assert db.rows("SELECT rescue_after FROM flowstone_nodes WHERE node_id = :n", n=node.id) == [(12.5,)]

    def test_a_worker_is_judged_dead_by_its_own_rescue_after_not_by_the_rescuers(
        self, start_node: StartNode, db: Database, probe: Probe
    ) -> None:
        entered = probe.hold("value")
        worker = start_node(queues={"assets": 1}, rescue_after=300.0)  # heartbeats every 75 s
        handle = worker.submit(pipeline, "value")
        assert entered.wait(10)
        db.backdate(handle.id, "attempted_at")
        db.set_heartbeat(worker.id, datetime.now(UTC) - timedelta(seconds=100))  # on time for 300 s

        rescuer = start_node(queues={"other": 1}, rescue_after=1.0)  # a worker: it rescues
        assert stays(lambda: handle.status().state != "executing", within=1.0)
        assert handle.status().attempted_by == worker.id

        db.set_heartbeat(worker.id, datetime.now(UTC) - timedelta(seconds=400))  # late by its own measure
        info = state_becomes(rescuer, handle.id, "available")
        assert info.attempt == 1


class TestRescueLeavesATrace:
    """[issue 12.7] each rescue is an error of the lost attempt, as Oban's Lifeline records."""

    def test_a_rescued_job_records_its_lost_attempt_as_an_error(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(queues={"other": 1}, rescue_after=1.0)  # a worker, not of this queue
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "dead-node", 1)
        db.add_node("dead-node", STOPPED)
        db.backdate(job.id, "attempted_at")
        info = state_becomes(node, handle.id, "available")
        [error] = info.errors
        assert error["attempt"] == 1
        assert error["error"] == ORPHANED
        assert datetime.fromisoformat(error["at"]) > STOPPED

    def test_the_error_of_a_node_without_a_heartbeat_row_says_when_it_claimed_the_job(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(queues={"other": 1}, rescue_after=1.0)
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "gone-node", 1)  # stopped: its row is deleted
        db.backdate(job.id, "attempted_at", STOPPED)
        [error] = state_becomes(node, handle.id, "available").errors
        assert error["error"] == (
            "orphaned: node gone-node stopped heart-beating (it left no heartbeat; "
            "it claimed the job at 2020-05-01T12:00:00+00:00)"
        )

    def test_a_job_rescued_on_its_last_attempt_is_discarded_and_wait_says_why(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(queues={"other": 1}, rescue_after=1.0, job_retry=fs.Retry(max_attempts=1))
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", "dead-node", 1)
        db.add_node("dead-node", STOPPED)
        db.backdate(job.id, "attempted_at")
        info = state_becomes(node, handle.id, "discarded")
        assert [(e["attempt"], e["error"]) for e in info.errors] == [(1, ORPHANED)]
        with pytest.raises(fs.MaterializationError, match=r"after 1 attempt\(s\): orphaned: node dead-node"):
            handle.wait(5)

    def test_each_rescue_adds_an_error_after_the_earlier_ones(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node(queues={"other": 1}, rescue_after=1.0)
        handle = node.submit(pipeline, "value")
        db.add_node("dead-node", STOPPED)
        for attempt in (1, 2):
            [job] = node.jobs.table.claim("assets", "dead-node", 1)
            assert job.attempt == attempt
            db.backdate(job.id, "attempted_at")
            wait_for(lambda n=attempt: len(handle.status().errors) == n, timeout=10, message="rescue")
        first, second = handle.status().errors
        assert (first["attempt"], first["error"]) == (1, ORPHANED)
        # Its row was forgotten meanwhile (ten of its rescue_after without a heartbeat).
        assert second["attempt"] == 2
        assert second["error"].startswith(
            "orphaned: node dead-node stopped heart-beating (it left no heartbeat"
        )


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

    def test_a_killed_workers_job_on_its_last_attempt_is_discarded_saying_its_node_stopped(
        self, start_node: StartNode, start_worker: StartWorker, database_url: str, tmp_path: Path
    ) -> None:
        node = start_node(job_retry=fs.Retry(max_attempts=1))  # enqueues only
        worker = start_worker(database_url)  # rescue_after 1 s, written with its heartbeats
        handle = node.submit(pipeline, "blocker", partition="last")
        wait_for(lambda: lines(tmp_path / "started"), timeout=30, message="the blocker started")
        owner = handle.status().attempted_by
        worker.process.kill()  # kill -9, mid-job
        worker.process.wait(timeout=10)

        start_node(queues={"other": 1}, rescue_after=2.0)  # judges the dead worker by its 1 s
        with pytest.raises(
            fs.MaterializationError, match=f"orphaned: node {owner} stopped heart-beating at "
        ):
            handle.wait(30)
        info = handle.status()
        assert (info.state, info.attempt, len(info.errors)) == ("discarded", 1, 1)
