"""With a database a waiting run outlives its node and its process: any node resumes it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import wait_pipelines as wp
from wait_support import HERE, SECRET, Background, python

import flowstone as fs
from supervisors.testing import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


class TestRestart:
    def test_runs_still_wait_after_a_restart_and_a_signal_resumes_them(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background]
    ) -> None:
        first = start_node()
        for partition in ("a", "b"):
            park(first, wp.gated, "published", partition=partition)
        tokens = {g.partition_key: g.token for g in first.gates()}
        first.stop()

        second = start_node()
        assert {g.partition_key for g in second.gates()} == {'"a"', '"b"'}
        assert second.status(wp.gated, "transcoded", "a").state == "waiting"
        second.signal(tokens['"a"'], {"url": "after-restart"})

        wait_for(lambda: second.status(wp.gated, "published", "a").state == "completed", timeout=10)
        assert second.get(wp.gated, "published", "a") == "a at after-restart"
        assert second.status(wp.gated, "transcoded", "b").state == "waiting"

    def test_the_generated_secret_is_shared_through_the_database(
        self,
        start_node: Callable[..., fs.Node],
        park: Callable[..., Background],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.delenv("FLOWSTONE_SIGNAL_SECRET", raising=False)
        first = start_node(signal_secret=None)
        park(first, wp.gated, "transcoded")
        token = first.gates()[0].token
        other = start_node(signal_secret=None)
        other.signal(token, {"url": "shared secret"})
        wait_for(lambda: first.status(wp.gated, "transcoded").state == "completed", timeout=10)


class TestJobs:
    def test_a_submitted_job_shows_waiting_and_ends_when_its_run_does(
        self, start_node: Callable[..., fs.Node]
    ) -> None:
        node = start_node(queues={"assets": 2}, poll_interval=0.05)
        handle = node.submit(wp.gated, "published")
        wait_for(lambda: handle.status().state == "waiting", timeout=10, message="the job waits")
        assert node.status(wp.gated, "transcoded").state == "waiting"
        assert threading.active_count() < 100
        node.signal(node.gates()[0].token, {"url": "from the job"})
        assert handle.wait(timeout=10) == "v1 at from the job"
        assert handle.status().state == "completed"

    def test_a_one_asset_job_recorded_after_it_ends_still_waits(
        self, start_node: Callable[..., fs.Node]
    ) -> None:
        node = start_node(queues={"assets": 2}, poll_interval=0.05)
        handles = [node.submit(wp.gated, "raw", partition=f"j{n}") for n in range(3)]
        wait_for(lambda: all(h.status().state == "waiting" for h in handles), timeout=10)
        for gate in node.gates():
            node.signal(gate.token, f"value of {gate.partition_key}")
        assert [h.wait(timeout=10) for h in handles] == [f'value of "j{n}"' for n in range(3)]

    def test_a_job_whose_gate_is_cancelled_is_discarded(self, start_node: Callable[..., fs.Node]) -> None:
        node = start_node(queues={"assets": 2}, poll_interval=0.05)
        handle = node.submit(wp.gated, "published")
        wait_for(lambda: handle.status().state == "waiting", timeout=10)
        node.cancel_gate(node.gates()[0].token)
        with pytest.raises(fs.MaterializationError, match="discarded"):
            handle.wait(timeout=10)


WORKER = """
import logging, os, sys, time
import flowstone as fs
# The library logs through stdlib logging: the test reads the worker's events from stdout.
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
import wait_pipelines
with fs.start(database_url=os.environ["FS_URL"], signal_secret=os.environ["FS_SECRET"],
              queues={"assets": 2}, poll_interval=0.05, wait_tick=0.05) as node:
    print("RESULT ready", flush=True)
    sys.stdin.read()  # until the test closes it
"""

SIGNAL = """
import os, sys
import flowstone as fs
with fs.start(database_url=os.environ["FS_URL"], signal_secret=os.environ["FS_SECRET"]) as node:
    gate = node.gates()[0]
    print("RESULT", node.signal(gate.token, {"url": "from another process"}).state)
"""

RACE = """
import os, sys
import flowstone as fs
with fs.start(database_url=os.environ["FS_URL"], signal_secret=os.environ["FS_SECRET"]) as node:
    token = sys.argv[1] if len(sys.argv) > 1 else node.gates(state=None)[0].token
    try:
        node.signal(token, {"url": os.environ.get("FS_WHO", "?")})
        print("RESULT won")
    except fs.SignalError as exc:
        print("RESULT", exc.reason)
"""


def result(stdout: str) -> str:
    """What a script printed after ``RESULT`` (its logs go to stdout too)."""
    return next(line[len("RESULT ") :] for line in stdout.splitlines() if line.startswith("RESULT "))


class TestTwoProcesses:
    def test_a_signal_from_another_process_resumes_the_run_here(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background], url: str
    ) -> None:
        node = start_node()
        park(node, wp.gated, "published")
        done = python(SIGNAL, url)
        assert done.returncode == 0, done.stderr
        assert result(done.stdout) == "signaled"
        wait_for(lambda: node.status(wp.gated, "published").state == "completed", timeout=10)
        assert node.get(wp.gated, "published") == "v1 at from another process"

    @pytest.mark.slow
    def test_a_worker_in_another_process_resumes_what_this_process_signalled(
        self, start_node: Callable[..., fs.Node], url: str, tmp_path: Path
    ) -> None:
        env = {**os.environ, "PYTHONPATH": str(HERE), "FS_URL": url, "FS_SECRET": SECRET}
        log = tmp_path / "worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-c", WORKER], env=env, stdin=subprocess.PIPE, stdout=out, text=True
            )
        try:
            wait_for(lambda: "RESULT ready" in log.read_text(), timeout=30, message="the worker started")
            node = start_node()  # submits and signals; works no queue
            handle = node.submit(wp.gated, "published")
            wait_for(lambda: handle.status().state == "waiting", timeout=20, message="the worker's run waits")
            node.signal(node.gates()[0].token, {"url": "resumed by the worker"})
            assert handle.wait(timeout=20) == "v1 at resumed by the worker"
            assert node.status(wp.gated, "published").state == "completed"
            assert "job.waiting" in log.read_text()
            lines = log.read_text().splitlines()
            materialized = [line for line in lines if line.startswith("asset.materialized")]
            assert any("asset=published" in line for line in materialized)  # resumed there
        finally:
            assert worker.stdin is not None
            worker.stdin.close()
            worker.wait(timeout=30)

    def test_of_signals_racing_from_two_processes_exactly_one_wins(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background], url: str
    ) -> None:
        node = start_node()
        park(node, wp.gated, "transcoded")
        token = node.gates()[0].token
        env = {**os.environ, "PYTHONPATH": str(HERE), "FS_URL": url, "FS_SECRET": SECRET}
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, token],
                env={**env, "FS_WHO": str(n)},
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        outputs = sorted(result(racer.communicate(timeout=60)[0]) for racer in racers)
        assert outputs == ["already_signaled", "won"]
        wait_for(lambda: node.status(wp.gated, "transcoded").state == "completed", timeout=10)
