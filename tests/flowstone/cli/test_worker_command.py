"""``flowstone worker``: SIGTERM drains (the job in flight finishes), a second signal exits."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from cli_support import PIPELINE_SOURCE, Database, Flowstone, StartWorker, Worker, lines

import flowstone as fs
from flowstone import partitions
from flowstone._jobs.table import NewJob
from supervisors.testing import wait_for

StartNode = Callable[[str], fs.Node]


def start_blocked(
    node: fs.Node, start_worker: StartWorker, module: ModuleType, database: Database, project: Path
) -> tuple[Worker, dict[str, int]]:
    """A worker of one slot running a ``blocker`` job, another waiting; job ids by partition."""
    worker = start_worker(
        module.__name__, "--queues", "assets=1", "--shutdown-grace", "30", database=database
    )
    ids = {p: node.submit(module.pipeline, "blocker", partition=p).id for p in ("first", "second")}
    wait_for(lambda: lines(project / "started"), timeout=60, message="the blocker to start")
    return worker, ids


def test_sigterm_lets_the_job_in_flight_finish_and_loses_nothing(
    start_node: StartNode, start_worker: StartWorker, database: Database, imported: ModuleType, project: Path
) -> None:
    node = start_node(database.url)
    worker, ids = start_blocked(node, start_worker, imported, database, project)
    [running] = lines(project / "started")
    [waiting] = set(ids) - {running}

    worker.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "draining" in worker.output(), timeout=30, message="the drain to begin")
    assert worker.process.poll() is None  # still waiting for the job in flight
    (project / "release").touch()

    assert worker.process.wait(timeout=60) == 0, worker.output()
    assert "worker stopped" in worker.output()
    assert lines(project / "completed") == [running]
    assert node.jobs.get(ids[running]).state == "completed"
    assert node.get(imported.pipeline, "blocker", running) == f"released {running}"
    assert node.jobs.get(ids[waiting]).state == "available"  # not claimed while draining
    assert lines(project / "started") == [running]


@pytest.mark.parametrize(
    ("database", "second"),
    [
        pytest.param("sqlite", signal.SIGTERM, id="sqlite-sigterm"),
        pytest.param("sqlite", signal.SIGINT, id="sqlite-sigint"),
        pytest.param("postgres", signal.SIGINT, id="postgres-sigint"),
    ],
    indirect=["database"],
)
def test_a_second_signal_during_the_drain_exits_at_once(
    start_node: StartNode,
    start_worker: StartWorker,
    database: Database,
    imported: ModuleType,
    project: Path,
    second: signal.Signals,
) -> None:
    node = start_node(database.url)
    worker, ids = start_blocked(node, start_worker, imported, database, project)
    [running] = lines(project / "started")

    worker.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "draining" in worker.output(), timeout=30, message="the drain to begin")
    worker.process.send_signal(second)

    # The blocker would hold a drain for 60 s (and the grace is 30 s): exiting now is "at once".
    code = worker.process.wait(timeout=15)
    assert code != 0, worker.output()
    assert "second signal" in worker.output()
    assert lines(project / "completed") == []
    assert node.jobs.get(ids[running]).state == "executing"  # left for another node to rescue


def test_a_bad_queues_value_exits_2(flowstone: Flowstone) -> None:
    result = flowstone("worker", "--queues", "assets")

    assert result.returncode == 2
    assert "NAME=CONCURRENCY" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unimportable_module_exits_2(flowstone: Flowstone) -> None:
    result = flowstone("worker", "--import", "no_such_module_here")

    assert result.returncode == 2
    assert "no_such_module_here" in result.stderr
    assert "Traceback" not in result.stderr


class TestTheImportAllowList:
    """A worker imports only its ``--import`` modules, their packages and ``--allow-import``
    patterns for a job's pipeline [issue 13.12]; the working directory it puts on
    ``sys.path`` gives no one a way in."""

    @staticmethod
    def write_modules(project: Path) -> None:
        (project / "mypipes").mkdir()
        (project / "mypipes" / "__init__.py").write_text("")
        (project / "mypipes" / "shop.py").write_text(PIPELINE_SOURCE)
        (project / "mypipes" / "returns.py").write_text(PIPELINE_SOURCE)
        (project / "intruder.py").write_text(PIPELINE_SOURCE + '\nrecord("imported", "intruder")\n')

    @staticmethod
    def enqueue(node: fs.Node, reference: str) -> int:
        job = NewJob(
            queue="assets",
            pipeline_ref=reference,
            pipeline="cli",
            asset="numbers",
            partition_key=partitions.serialize(None),
            options={},
            priority=0,
            max_attempts=3,
        )
        return node.jobs.table.insert(job)[0]

    @staticmethod
    def ended(node: fs.Node, job_id: int) -> fs.JobInfo:
        return wait_for(
            lambda: (info := node.jobs.get(job_id)).state in ("completed", "discarded") and info,
            timeout=60,
            message=f"job {job_id} to end",
        )

    def test_a_worker_runs_its_import_and_its_package_and_discards_any_other_module(
        self, start_node: StartNode, start_worker: StartWorker, database: Database, project: Path
    ) -> None:
        self.write_modules(project)
        node = start_node(database.url)
        ids = {ref: self.enqueue(node, ref) for ref in ("mypipes.shop:pipeline", "mypipes.returns:pipeline")}
        intruder = self.enqueue(node, "intruder:pipeline")
        worker = start_worker("mypipes.shop", database=database)

        for job_id in ids.values():
            assert self.ended(node, job_id).state == "completed", worker.output()
        info = self.ended(node, intruder)
        assert info.state == "discarded"
        assert info.attempt == 1
        error = info.errors[-1]["error"]
        assert "'intruder'" in error
        assert "--allow-import" in error
        assert not (project / "imported").exists()  # never imported, though it is in the cwd

    def test_allow_import_widens_the_list(
        self, start_node: StartNode, start_worker: StartWorker, database: Database, project: Path
    ) -> None:
        self.write_modules(project)
        node = start_node(database.url)
        intruder = self.enqueue(node, "intruder:pipeline")
        worker = start_worker("mypipes.shop", "--allow-import", "intr*", database=database)

        assert self.ended(node, intruder).state == "completed", worker.output()
        assert lines(project / "imported") == ["intruder"]

    @pytest.mark.parametrize("pattern", ["my pipes", "pkg:pipeline", ""])
    def test_a_malformed_pattern_exits_2(self, flowstone: Flowstone, pattern: str) -> None:
        result = flowstone("worker", "--import", "pipe", "--allow-import", pattern)

        assert result.returncode == 2
        assert "--allow-import" in result.stderr
        assert "is not a module pattern" in result.stderr
        assert "Traceback" not in result.stderr
