"""A queue records its workers' successes together: each job completed with its run, in
the transaction that records the run, and nothing reported before that commit."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import structlog
from job_pipelines import Probe, pipeline
from job_support import StartNode
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import flowstone as fs
from supervisors.testing import wait_for
from tests.flowstone.store.tcp_proxy import TcpProxy


def rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())
    finally:
        engine.dispose()


class TestEveryJobIsCompletedWithItsRun:
    def test_short_jobs_on_four_workers_each_end_completed_with_their_run_recorded(
        self, start_node: StartNode, database_url: str
    ) -> None:
        node = start_node(queues={"assets": 4})
        handles = {f"p{i}": node.submit(pipeline, "value", partition=f"p{i}") for i in range(40)}
        for partition, handle in handles.items():
            assert handle.wait(30) == f"value:{partition}"
        for partition, handle in handles.items():
            info = node.jobs.get(handle.id)
            status = node.status(pipeline, "value", partition)
            assert (info.state, status.state) == ("completed", "completed")
            assert info.run_id is not None
            assert info.run_id == status.run_id
        runs = rows(database_url, "SELECT run_id, status FROM flowstone_runs")
        assert sorted(status for _, status in runs) == ["completed"] * 40
        audit = rows(
            database_url,
            "SELECT event_type, COUNT(*) FROM flowstone_audit_log "
            "WHERE event_type IN ('run.started', 'run.finished') GROUP BY event_type ORDER BY 1",
        )
        assert [tuple(row) for row in audit] == [("run.finished", 40), ("run.started", 40)]

    @pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
    def test_on_postgresql_a_job_and_its_run_are_written_by_the_same_transaction(
        self, start_node: StartNode, database_url: str
    ) -> None:
        postgres_database = database_url
        node = start_node(queues={"assets": 4})
        handles = [node.submit(pipeline, "value", partition=f"x{i}") for i in range(20)]
        for handle in handles:
            handle.wait(30)
        pairs = rows(
            postgres_database,
            "SELECT j.xmin::text, r.xmin::text, m.xmin::text FROM flowstone_jobs j "
            "JOIN flowstone_runs r ON r.run_id = j.run_id "
            "JOIN flowstone_materializations m ON m.run_id = j.run_id",
        )
        assert len(pairs) == 20
        assert all(job == run == record for job, run, record in pairs)


class TestEventsComeOnceRecorded:
    def test_a_jobs_finished_event_finds_its_job_and_materialization_completed(
        self, start_node: StartNode
    ) -> None:
        node = start_node(queues={"assets": 2})
        seen: list[tuple[str, str]] = []
        received = threading.Event()
        handles: dict[str, Any] = {}

        def on_event(event: object) -> None:
            if isinstance(event, fs.events.MaterializationFinished) and event.asset == "value":
                status = node.status(pipeline, "value", event.partition)
                seen.append((status.state, handles[event.partition].status().state))
                if len(seen) == 5:
                    received.set()

        node.events.subscribe(on_event)
        for i in range(5):
            handles[f"e{i}"] = node.submit(pipeline, "value", partition=f"e{i}")
        assert received.wait(30), "five finished events"
        assert seen == [("completed", "completed")] * 5


class TestAFailedJobRunIsRecorded:
    def test_a_discarded_jobs_run_is_recorded_failed_with_its_error(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1}, job_retry=fs.Retry(max_attempts=1))

        def fail(ctx: fs.Context, nth: int) -> None:
            raise ValueError("no value today")

        probe.hooks["value"] = fail
        handle = node.submit(pipeline, "value", partition="bad")
        with pytest.raises(fs.MaterializationError):
            handle.wait(30)
        assert node.jobs.get(handle.id).state == "discarded"
        status = node.status(pipeline, "value", "bad")
        assert status.state == "failed"
        assert "no value today" in (status.error or "")
        assert not node.exists(pipeline, "value", "bad")


class TestADatabaseOutageLosesNoSuccess:
    @pytest.mark.timeout(90)
    @pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
    def test_a_success_the_database_refused_is_recorded_once_it_is_back(
        self, start_node: StartNode, probe: Probe, database_url: str
    ) -> None:
        proxy = TcpProxy(("127.0.0.1", make_url(database_url).port or 5432))
        proxy.start()
        try:
            through = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
            node = start_node(
                database_url=through.render_as_string(hide_password=False), queues={"assets": 1}
            )
            entered = probe.hold("value")
            handle = node.submit(pipeline, "value", partition="outage")
            assert entered.wait(30), "the job did not start"
            with structlog.testing.capture_logs() as logs:
                proxy.stop()  # the database goes away while the job runs
                probe.gate.set()
                wait_for(
                    lambda: any(e["event"] == "queue.ack_failed" for e in logs),
                    timeout=30,
                    message="the producer tried to record the success",
                )
            state = rows(database_url, "SELECT state FROM flowstone_jobs WHERE id = :i", i=handle.id)
            assert [s for (s,) in state] == ["executing"]  # nothing recorded, nothing lost
            proxy.start()  # back on the same port: the next poll records it
            assert handle.wait(30) == "value:outage"
            assert node.status(pipeline, "value", "outage").state == "completed"
            assert len(probe.of("value", "outage")) == 1
        finally:
            probe.gate.set()
            proxy.stop()
