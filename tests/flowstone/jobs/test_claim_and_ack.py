"""The batch-claim path, and a job's acknowledgement sharing its materialization's transaction."""

from __future__ import annotations

from job_pipelines import Probe, pipeline
from job_support import StartNode

import flowstone as fs
from flowstone._jobs.statements import claim_statement
from supervisors.testing import wait_for


class TestCompleteMany:
    def test_a_claimed_batch_is_completed_in_one_acknowledgement(self, start_node: StartNode) -> None:
        node = start_node()
        handles = [node.submit(pipeline, "value", partition=f"p{i}") for i in range(5)]
        claimed = node.jobs.table.claim("assets", node.id, 10)
        assert len(claimed) == 5
        assert node.jobs.table.complete_many(claimed, node.id) == {job.id for job in claimed}
        assert [h.status().state for h in handles] == ["completed"] * 5

    def test_only_jobs_still_owned_by_this_node_and_attempt_are_completed(
        self, start_node: StartNode
    ) -> None:
        node = start_node()
        mine = node.submit(pipeline, "value", partition="mine")
        theirs = node.submit(pipeline, "value", partition="theirs")
        cancelled = node.submit(pipeline, "value", partition="cancelled")
        [a] = node.jobs.table.claim("assets", node.id, 1)
        [b] = node.jobs.table.claim("assets", "other-node", 1)
        [c] = node.jobs.table.claim("assets", node.id, 1)
        assert (a.id, b.id, c.id) == (mine.id, theirs.id, cancelled.id)
        node.jobs.cancel(c.id)
        impostor = type(b)(*[getattr(b, f) for f in b.__slots__])  # the other node's claim, as ours
        assert node.jobs.table.complete_many([a, impostor, c], node.id) == {a.id}
        states = (mine.status().state, theirs.status().state, cancelled.status().state)
        assert states == ("completed", "executing", "cancelled")

    def test_an_empty_batch_touches_nothing(self, start_node: StartNode) -> None:
        assert start_node().jobs.table.complete_many([], "any") == set()


class TestRelease:
    def test_a_released_job_is_available_again_without_using_an_attempt(self, start_node: StartNode) -> None:
        node = start_node()
        handle = node.submit(pipeline, "value")
        [job] = node.jobs.table.claim("assets", node.id, 1)
        assert job.attempt == 1
        assert node.jobs.table.release(job, "another-node") is False  # fenced on the owner
        assert node.jobs.table.release(job, node.id) is True
        info = handle.status()
        assert (info.state, info.attempt, info.errors) == ("available", 0, [])
        [again] = node.jobs.table.claim("assets", node.id, 1)
        assert (again.id, again.attempt) == (job.id, 1)

    def test_a_released_unique_job_keeps_its_key(self, start_node: StartNode) -> None:
        node = start_node()
        handle = node.submit(pipeline, "unique_value", partition="k")
        [job] = node.jobs.table.claim("assets", node.id, 1)
        assert node.jobs.table.release(job, node.id) is True
        assert node.submit(pipeline, "unique_value", partition="k").id == handle.id


class TestAckWithTheMaterialization:
    def test_a_completed_job_and_its_materialization_share_one_run(self, start_node: StartNode) -> None:
        node = start_node(queues={"assets": 1})
        handle = node.submit(pipeline, "value", partition="shared")
        assert handle.wait(30) == pipeline_value(node, "shared")
        info = node.jobs.get(handle.id)
        status = node.status(pipeline, "value", "shared")
        assert (info.state, status.state) == ("completed", "completed")

    def test_a_job_cancelled_while_it_runs_leaves_no_completed_materialization(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1})
        entered = probe.hold("value")
        handle = node.submit(pipeline, "value", partition="cut")
        assert entered.wait(30), "the job did not start"
        node.jobs.cancel(handle.id)
        probe.gate.set()
        status = wait_for(
            lambda: (s := node.status(pipeline, "value", "cut")).state == "failed" and s,
            timeout=30,
            message="the refused completion recorded as failed",
        )
        assert "no longer this node's" in (status.error or "")
        assert node.jobs.get(handle.id).state == "cancelled"
        assert not node.exists(pipeline, "value", "cut")


def pipeline_value(node: fs.Node, partition: str) -> object:
    return node.get(pipeline, "value", partition)


class TestTheClaimLooksAtTheTarget:
    def test_a_job_for_a_materialized_asset_reuses_it_and_a_new_one_runs(
        self, start_node: StartNode, probe: Probe
    ) -> None:
        node = start_node(queues={"assets": 1})
        assert node.run(pipeline, "value", partition="kept") == "value:kept"
        reused = node.submit(pipeline, "value", partition="kept")
        fresh = node.submit(pipeline, "value", partition="new")
        assert (reused.wait(30), fresh.wait(30)) == ("value:kept", "value:new")
        assert len(probe.of("value", "kept")) == 1  # the job found it done and did not run it
        assert len(probe.of("value", "new")) == 1

    def test_a_claim_on_postgresql_reports_whether_the_target_is_done(
        self, start_node: StartNode, database_url: str
    ) -> None:
        node = start_node()
        node.run(pipeline, "value", partition="done")
        node.submit(pipeline, "value", partition="done")
        node.submit(pipeline, "value", partition="todo")
        claimed = {job.partition_key: job.target_done for job in node.jobs.table.claim("assets", node.id, 2)}
        done, todo = fs.partitions.serialize("done"), fs.partitions.serialize("todo")
        expected = (
            {done: True, todo: False} if database_url.startswith("postgresql") else {done: None, todo: None}
        )
        assert claimed == expected


class TestTheClaimUsesThePartialIndex:
    def test_the_claim_reads_the_due_index_not_the_whole_table(self, postgres_database: str) -> None:
        with fs.start(database_url=postgres_database) as node:
            engine = node._store.engines.write  # type: ignore[attr-defined]
            with engine.connect() as c:
                statement = claim_statement("postgresql").compile(dialect=c.dialect)
                params = {**statement.params, "b_queue": "assets", "b_pause": "pause:assets"}
                params |= {"b_limit": 1, "b_node": "n"}
                c.exec_driver_sql("SET enable_seqscan = off")  # only a usable index can avoid it
                plan = "\n".join(r[0] for r in c.exec_driver_sql(f"EXPLAIN {statement}", params))
                c.rollback()
        assert "ix_flowstone_jobs_due" in plan, plan
