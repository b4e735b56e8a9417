"""[issue 22] Several jobs per claim when the queue is deep, without hoarding, and fenced.

A queue's producer claims for all its free workers in one statement (``LIMIT k``, k the
free workers, never more); a batched completion (``complete_many``, the group commit)
applies only to the jobs whose lease this node still holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from job_pipelines import Probe, pipeline
from job_support import LONG_AGO, Database, StartNode
from sqlalchemy import event

import flowstone as fs
from flowstone._jobs.table import JobTable
from supervisors.testing import wait_for


@contextmanager
def statements_of(table: JobTable) -> Iterator[list[str]]:
    """Every statement this thread sends through the store's engines while the block runs
    (the node's own threads poll meanwhile)."""
    seen: list[str] = []
    me = threading.get_ident()

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if threading.get_ident() == me:
            seen.append(statement)

    engines = set(table._store.engines.owned)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def submit_many(node: fs.Node, count: int, asset: str = "value") -> list[fs.RunHandle]:
    return [node.submit(pipeline, asset, partition=f"p{i}") for i in range(count)]


class TestADeepQueueIsClaimedSeveralJobsAtATime:
    def test_k_jobs_are_claimed_in_one_statement_best_first(self, start_node: StartNode) -> None:
        node = start_node()
        handles = submit_many(node, 10)
        with statements_of(node.jobs.table) as seen:
            claimed = node.jobs.table.claim("assets", node.id, 4)
        assert len(seen) == 1  # one round trip for the four
        assert [job.id for job in claimed] == [h.id for h in handles[:4]]
        assert [h.status().state for h in handles] == ["executing"] * 4 + ["available"] * 6

    def test_a_shallow_queue_gives_what_it_has(self, start_node: StartNode) -> None:
        node = start_node()
        submit_many(node, 2)
        assert len(node.jobs.table.claim("assets", node.id, 4)) == 2
        assert node.jobs.table.claim("assets", node.id, 4) == []

    def test_a_node_claims_for_all_its_free_workers_at_once_and_never_more(
        self, start_node: StartNode, probe: Probe, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sizes: list[int] = []  # of every claim that took jobs, alone or with a group commit
        claim, fused = JobTable.claim, JobTable.complete_runs_and_claim

        def recording(self: JobTable, queue: str, node_id: str, limit: int) -> list[Any]:
            claimed = claim(self, queue, node_id, limit)
            if claimed:
                sizes.append(len(claimed))
            return claimed

        def recording_fused(self: JobTable, *args: Any) -> tuple[Any, list[Any] | None]:
            runs, claimed = fused(self, *args)
            if claimed:
                sizes.append(len(claimed))
            return runs, claimed

        monkeypatch.setattr(JobTable, "claim", recording)
        monkeypatch.setattr(JobTable, "complete_runs_and_claim", recording_fused)
        node = start_node(queues={"assets": 4})
        node.jobs.pause("assets")
        handles = submit_many(node, 24)
        entered = probe.hold("value")
        node.jobs.resume("assets")
        assert entered.wait(10)
        wait_for(lambda: probe.active == 4, timeout=10, message="four jobs running")
        assert sum(sizes) == 4  # the four running: nothing claimed beyond the free workers
        probe.gate.set()
        assert [h.wait(30) for h in handles] == [f"value:p{i}" for i in range(24)]
        assert sum(sizes) == 24
        assert max(sizes) <= 4
        assert len(sizes) < 24  # several jobs per claim while the queue was deep


class TestTwoNodesShareADeepQueue:
    def test_each_node_holds_only_as_many_jobs_as_it_has_workers(
        self, start_node: StartNode, probe: Probe, db: Database
    ) -> None:
        probe.hold("value")
        first = start_node(queues={"assets": 2})
        first.jobs.pause("assets")
        handles = submit_many(first, 10)
        second = start_node(queues={"assets": 2})
        first.jobs.resume("assets")
        wait_for(lambda: probe.active == 4, timeout=10, message="two jobs running on each node")
        held = db.rows(
            "SELECT attempted_by, count(*) FROM flowstone_jobs "
            "WHERE state = 'executing' GROUP BY attempted_by"
        )
        assert sorted(count for _, count in held) == [2, 2]
        assert {node for node, _ in held} == {first.id, second.id}
        assert [h.status().state for h in handles].count("available") == 6  # none hoarded
        probe.gate.set()
        assert all(h.wait(30) == f"value:p{i}" for i, h in enumerate(handles))
        ran = db.rows("SELECT DISTINCT attempted_by FROM flowstone_jobs WHERE state = 'completed'")
        assert {node for (node,) in ran} == {first.id, second.id}


class TestABatchedCompletionIsFenced:
    def test_jobs_rescued_from_a_batch_are_not_completed_by_its_late_acknowledgement(
        self, start_node: StartNode, db: Database
    ) -> None:
        node = start_node()  # no queues, no upkeep: the rescue below is the only one
        handles = submit_many(node, 3)
        db.add_node("zombie", LONG_AGO, rescue_after=30.0)  # stopped heart-beating long ago
        batch = node.jobs.table.claim("assets", "zombie", 3)
        assert [job.id for job in batch] == [h.id for h in handles]
        lost, kept = batch[:2], batch[2]
        for job in lost:
            db.backdate(job.id, "attempted_at")  # claimed long ago: its lease has expired
        assert node.jobs.table.rescue(30.0) == 2
        assert node.jobs.table.complete_many(batch, "zombie") == {kept.id}
        assert [h.status().state for h in handles] == ["available", "available", "completed"]
        # The same node id claims one again (attempt 2): the batch's attempt-1 fence still
        # keeps that old acknowledgement from completing the new attempt.
        [again] = node.jobs.table.claim("assets", "zombie", 1)
        assert (again.id, again.attempt) == (lost[0].id, 2)
        assert node.jobs.table.complete_many(batch, "zombie") == set()
        assert node.jobs.table.complete_many([again], "zombie") == {again.id}
        assert [h.status().state for h in handles] == ["completed", "available", "completed"]


class TestTheGroupCommitClaimsTheNextJobs:
    def test_a_success_whose_lease_was_taken_is_refused_and_the_claim_beside_it_still_runs(
        self, start_node: StartNode, probe: Probe, db: Database
    ) -> None:
        node = start_node(queues={"assets": 1})
        node.jobs.pause("assets")
        first, second = submit_many(node, 2)
        entered = probe.hold("value")
        node.jobs.resume("assets")
        assert entered.wait(10)
        # Its lease taken by another node while it ran (the owner fence alone decides).
        db.execute("UPDATE flowstone_jobs SET attempted_by = 'rescuer' WHERE id = :i", i=first.id)
        probe.gate.set()
        assert second.wait(30) == "value:p1"
        info = first.status()
        assert (info.state, info.attempted_by, info.attempt) == ("executing", "rescuer", 1)
        assert node.status(pipeline, "value", "p0").state == "failed"  # its run: recorded, refused

    @pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
    def test_on_postgresql_the_refill_is_claimed_in_the_group_commits_statement(
        self, start_node: StartNode, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fused: list[int] = []
        complete_runs_and_claim = JobTable.complete_runs_and_claim

        def recording(self: JobTable, *args: Any) -> tuple[Any, list[Any] | None]:
            runs, claimed = complete_runs_and_claim(self, *args)
            assert claimed is not None  # PostgreSQL: claimed in the same statement
            fused.append(len(claimed))
            return runs, claimed

        monkeypatch.setattr(JobTable, "complete_runs_and_claim", recording)
        node = start_node(queues={"assets": 2})
        node.jobs.pause("assets")
        handles = submit_many(node, 12)
        node.jobs.resume("assets")
        assert [h.wait(30) for h in handles] == [f"value:p{i}" for i in range(12)]
        assert sum(fused) >= 1  # after the first claim, refills came with the commits
        assert max(fused) <= 2


@contextmanager
def transaction_events_of(table: JobTable) -> Iterator[list[str]]:
    """The SQLAlchemy transaction events (begin, commit, rollback) of this thread on the
    store's engines while the block runs."""
    seen: list[str] = []
    me = threading.get_ident()
    listeners = []
    for engine in set(table._store.engines.owned):
        for name in ("begin", "commit", "rollback"):

            def record(_conn: Any, name: str = name) -> None:
                if threading.get_ident() == me:
                    seen.append(name)

            event.listen(engine, name, record)
            listeners.append((engine, name, record))
    try:
        yield seen
    finally:
        for engine, name, record in listeners:
            event.remove(engine, name, record)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
class TestOnPostgreSQLTheAutocommitPoolsSkipTransactionBookkeeping:
    """[issue 22] A statement on an autocommit pool commits on its own: SQLAlchemy's
    ``begin()`` around it was bookkeeping only (``transaction.Transaction``)."""

    def test_a_claim_sends_its_statement_alone_without_begin_or_commit(self, start_node: StartNode) -> None:
        node = start_node()
        submit_many(node, 3)
        table = node.jobs.table
        with statements_of(table) as sent, transaction_events_of(table) as transactions:
            claimed = table.claim("assets", node.id, 3)
        assert len(claimed) == 3
        assert len(sent) == 1
        assert sent[0].lstrip().upper().startswith(("UPDATE", "WITH"))
        assert transactions == []
        with statements_of(table) as sent, transaction_events_of(table) as transactions:
            assert table.complete_many(claimed, node.id) == {job.id for job in claimed}
        assert len(sent) == 1
        assert transactions == []

    def test_a_write_transaction_still_begins_and_commits(self, start_node: StartNode) -> None:
        node = start_node()
        with transaction_events_of(node.jobs.table) as transactions:
            submit_many(node, 1)
        assert "begin" in transactions
        assert "commit" in transactions
