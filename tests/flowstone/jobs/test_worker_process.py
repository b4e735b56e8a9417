"""``python -m flowstone worker``: graceful drain on SIGTERM, surviving claim failures, options."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from job_pipelines import pipeline
from job_support import Database, StartNode, StartWorker, lines

import flowstone as fs
from supervisors.testing import wait_for


def registered(db: Database) -> int:
    """How many nodes heartbeat into the nodes table (a started worker registers at once)."""
    return int(db.rows("SELECT count(*) FROM flowstone_nodes")[0][0])


class TestGracefulShutdown:
    def test_sigterm_mid_job_lets_the_job_finish_before_exiting(
        self, start_node: StartNode, start_worker: StartWorker, database_url: str, tmp_path: Path
    ) -> None:
        node = start_node()
        worker = start_worker(database_url)
        handle = node.submit(pipeline, "slow")
        wait_for(lambda: lines(tmp_path / "slow-started"), timeout=30, message="the slow job started")
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=30) == 0, worker.output()
        assert "draining" in worker.output()
        assert lines(tmp_path / "slow-finished") == [str(worker.process.pid)]
        info = handle.status()
        assert (info.state, info.attempt) == ("completed", 1)
        assert handle.wait(1) == "slow"

    def test_a_job_outliving_the_shutdown_grace_is_left_for_rescue(
        self, start_node: StartNode, start_worker: StartWorker, database_url: str, tmp_path: Path
    ) -> None:
        node = start_node()
        first = start_worker(database_url, "--shutdown-grace", "0.2")
        handle = node.submit(pipeline, "blocker", partition="long")
        wait_for(lambda: lines(tmp_path / "started"), timeout=30, message="the blocker started")
        first.process.send_signal(signal.SIGTERM)
        try:
            # The grace is 0.2 s; 10 s covers the rest of the node's orderly stop.
            wait_for(lambda: first.process.poll() is not None, timeout=10, message="the worker exited")
        finally:
            (tmp_path / "release").touch()  # lets the blocker finish if the worker still runs it
        assert first.process.returncode == 0, first.output()
        assert lines(tmp_path / "completed") == []
        assert handle.status().state == "executing"  # not acknowledged: left for rescue
        second = start_worker(database_url)
        assert handle.wait(60) == "blocker:long"
        assert handle.status().attempt == 2
        assert lines(tmp_path / "completed") == [f"{second.process.pid} 2"]

    def test_sigterm_exits_within_the_shutdown_grace_plus_one_second(
        self, start_node: StartNode, start_worker: StartWorker, database_url: str, tmp_path: Path
    ) -> None:
        """Kubernetes sizes terminationGracePeriodSeconds from --shutdown-grace: a job that
        outlives it costs the grace and at most 1 s more, never a runner's budget on top."""
        grace = 1.0
        node = start_node()
        worker = start_worker(database_url, "--shutdown-grace", str(grace))
        handle = node.submit(pipeline, "blocker", partition="stuck")
        wait_for(lambda: lines(tmp_path / "started"), timeout=30, message="the blocker started")
        signalled = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=30)
        finally:
            (tmp_path / "release").touch()
        elapsed = time.monotonic() - signalled
        assert worker.process.returncode == 0, worker.output()
        assert grace <= elapsed <= grace + 1.0, worker.output()
        assert handle.status().state == "executing"  # abandoned: left for rescue

    def test_an_idle_worker_exits_at_once_on_sigterm_whatever_its_grace(
        self, start_node: StartNode, start_worker: StartWorker, database_url: str, db: Database
    ) -> None:
        start_node()  # migrates the database, and heartbeats beside the worker
        worker = start_worker(database_url, "--shutdown-grace", "30")
        wait_for(lambda: registered(db) == 2, timeout=30, message="the worker registered")
        signalled = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(timeout=30)
        assert time.monotonic() - signalled < 2.0, worker.output()  # far from its 30 s grace
        assert worker.process.returncode == 0, worker.output()
        assert registered(db) == 1  # it stopped cleanly: its heartbeat row is gone


class TestResilience:
    def test_a_worker_keeps_running_after_claims_fail_and_resumes_claiming(
        self,
        start_node: StartNode,
        start_worker: StartWorker,
        database_url: str,
        db: Database,
    ) -> None:
        # Each test owns its database, so hiding the jobs table is safe: every claim (and
        # rescue) fails until it comes back, as during a database restart.
        node = start_node()
        worker = start_worker(database_url)
        wait_for(lambda: registered(db) == 2, timeout=30, message="the worker registered")
        db.execute("ALTER TABLE flowstone_jobs RENAME TO flowstone_jobs_away")
        try:
            wait_for(lambda: "queue.claim_failed" in worker.output(), timeout=30, message="a failed claim")
        finally:
            db.execute("ALTER TABLE flowstone_jobs_away RENAME TO flowstone_jobs")
        assert worker.process.poll() is None
        handle = node.submit(pipeline, "slow")
        assert handle.wait(30) == "slow", worker.output()
        assert worker.process.poll() is None


class TestCommand:
    def test_the_database_url_may_come_from_the_environment(
        self, start_node: StartNode, start_worker: StartWorker, database_url: str
    ) -> None:
        node = start_node()
        start_worker(database_url, url_from_env=True)
        assert node.submit(pipeline, "slow").wait(30) == "slow"

    def test_an_unimportable_module_is_a_usage_error(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'unused.db'}"
        done = subprocess.run(
            [sys.executable, "-m", "flowstone", "worker", "--database-url", url, "--import", "no_such_mod"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert "no_such_mod" in done.stderr

    def test_a_malformed_queues_option_is_a_usage_error(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'unused.db'}"
        done = subprocess.run(
            [sys.executable, "-m", "flowstone", "worker", "--database-url", url, "--queues", "assets"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert "NAME=CONCURRENCY" in done.stderr
        assert isinstance(fs.NodeConfig().queues, dict)
