"""A job that kills its worker process harms no other job [issue 13.4]: a success is
committed before the next job starts, and a job whose last attempt died with its node
runs alone, so that one poison's restart loop never costs its neighbours an attempt."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from job_pipelines import Probe, pipeline
from job_support import Database, StartNode, StartWorker, lines, stays

import flowstone as fs
from flowstone._jobs.claimed import ClaimedJob
from flowstone._jobs.isolation import resumed, split_claim
from flowstone._jobs.records import TERMINAL
from supervisors.testing import wait_for

RESCUE_AFTER = 0.5  # seconds: each death costs a worker start and this


def work_until_ended(
    node: fs.Node, start_worker: StartWorker, url: str, ids: list[int], *, queues: str, workers: int
) -> list[int]:
    """Start a worker, and another each time one dies, until every job in ``ids`` has
    ended; the workers' exit codes (None for the last, still running)."""
    codes: list[int] = []

    def ended() -> bool:
        return all(node.jobs.get(job_id).state in TERMINAL for job_id in ids)

    for _ in range(workers):
        worker = start_worker(url, queues=queues, rescue_after=RESCUE_AFTER)
        wait_for(
            lambda w=worker: w.process.poll() is not None or ended(),  # type: ignore[misc]
            timeout=60,
            message="a worker to die or every job to end",
        )
        if ended():
            return codes
        codes.append(worker.process.wait(timeout=10))
    raise AssertionError(f"jobs still running after {workers} workers: {[node.jobs.get(i) for i in ids]}")


def runs_per_partition(directory: Path) -> Counter[str]:
    return Counter(line for log in directory.glob("noop-*.log") for line in lines(log))


class TestAKillerAmongQuickJobs:
    def test_a_job_that_succeeded_before_the_killer_started_is_never_run_again(
        self,
        start_node: StartNode,
        start_worker: StartWorker,
        database_url: str,
        db: Database,
        tmp_path: Path,
    ) -> None:
        node = start_node()  # enqueues only
        before = [node.submit(pipeline, "noop", partition=f"before-{n}").id for n in range(5)]
        killer = node.submit(pipeline, "killer").id
        after = [node.submit(pipeline, "noop", partition=f"after-{n}").id for n in range(5)]
        db.execute("UPDATE flowstone_jobs SET max_attempts = 2 WHERE id = :id", id=killer)

        # One slot: each quick job ends before the next starts, the killer right after one.
        codes = work_until_ended(
            node, start_worker, database_url, [*before, killer, *after], queues="assets=1", workers=4
        )

        assert codes == [13, 13]  # the killer's two attempts, nothing else
        killed = node.jobs.get(killer)
        assert (killed.state, killed.attempt) == ("discarded", 2)
        for job_id in [*before, *after]:
            info = node.jobs.get(job_id)
            assert (info.state, info.attempt, info.errors) == ("completed", 1, []), info
        runs = runs_per_partition(tmp_path)
        assert set(runs.values()) == {1}, runs  # each ran once
        assert len(runs) == 10

    def test_jobs_claimed_with_the_killer_are_not_discarded_by_its_restart_loop(
        self,
        start_node: StartNode,
        start_worker: StartWorker,
        database_url: str,
        tmp_path: Path,
    ) -> None:
        # The quick jobs have two attempts, the killer three: were they killed beside it
        # at each of its attempts, they would be discarded without ever failing.
        node = start_node(job_retry=fs.Retry(max_attempts=2, base_delay=0.0))
        killer = node.submit(pipeline, "killer").id
        quick = [node.submit(pipeline, "noop", partition=f"q{n}").id for n in range(8)]

        codes = work_until_ended(
            node, start_worker, database_url, [killer, *quick], queues="assets=3", workers=6
        )

        assert codes == [13, 13, 13]
        killed = node.jobs.get(killer)
        assert (killed.state, killed.attempt) == ("discarded", 3)
        infos = [node.jobs.get(job_id) for job_id in quick]
        assert [i.state for i in infos] == ["completed"] * 8, infos
        # Claimed beside the killer the first time, one may have lost that attempt; never more.
        assert all(i.attempt <= 2 for i in infos), infos
        assert sum(i.attempt == 2 for i in infos) <= 2, infos
        assert len(runs_per_partition(tmp_path)) == 8


class TestAResumedJobRunsAlone:
    def test_the_jobs_claimed_with_it_wait_unrun_and_keep_their_attempts(
        self, start_node: StartNode, db: Database, probe: Probe
    ) -> None:
        submitter = start_node()
        resumed_job = submitter.submit(pipeline, "value", partition="resumed")
        fresh = [submitter.submit(pipeline, "value", partition=p) for p in ("a", "b", "c")]
        # As after a rescue: attempt 1 used, and nothing recorded of how it ended.
        db.execute("UPDATE flowstone_jobs SET attempt = 1 WHERE id = :id", id=resumed_job.id)
        entered = threading.Event()

        def hold_the_resumed_one(ctx: fs.Context, nth: int) -> None:
            if ctx.partition == "resumed":
                entered.set()
                probe.block(ctx, nth)

        probe.hooks["value"] = hold_the_resumed_one
        worker = start_node(queues={"assets": 4})
        assert entered.wait(10), "the resumed job did not start"
        assert stays(lambda: probe.started("value") > 1)  # alone, though 4 workers are free
        assert [(h.status().state, h.status().attempt) for h in fresh] == [("available", 0)] * 3
        probe.gate.set()
        assert resumed_job.wait(10) == "value:resumed"
        for handle in fresh:
            assert handle.wait(10) == f"value:{handle.partition}"
            assert handle.status().attempt == 1  # given back unrun: no attempt used
        assert resumed_job.status().attempt == 2
        assert worker.jobs.stats()["states"] == {"completed": 4}


def claimed(job_id: int, attempt: int = 1, errors: list[dict[str, object]] | None = None) -> ClaimedJob:
    return ClaimedJob(job_id, "assets", "m:p", "p", "a", "null", {}, attempt, 5, errors or [])


class TestResumedJobs:
    @pytest.mark.parametrize(
        ("attempt", "errors", "expected"),
        [
            (1, [], False),  # a first attempt
            (2, [{"attempt": 1, "error": "ValueError: boom"}], False),  # retried after a failure
            (2, [], True),  # its first attempt ended with no outcome: its node died
            (3, [{"attempt": 1, "error": "ValueError: boom"}], True),
            (2, [{"attempt": 1, "error": "orphaned: node n1 stopped heart-beating at T"}], True),
        ],
    )
    def test_a_job_is_resumed_when_its_previous_attempt_recorded_no_outcome(
        self, attempt: int, errors: list[dict[str, object]], expected: bool
    ) -> None:
        assert resumed(claimed(1, attempt, errors)) is expected


class TestSplittingAClaim:
    def test_a_claim_of_fresh_jobs_runs_them_all(self) -> None:
        jobs = [claimed(1), claimed(2)]
        assert split_claim(jobs, running=False) == (jobs, [], False)

    def test_a_resumed_job_runs_alone_when_nothing_else_runs(self) -> None:
        suspect, fresh, other = claimed(1, attempt=2), claimed(2), claimed(3, attempt=2)
        assert split_claim([suspect, fresh, other], running=False) == ([suspect], [fresh, other], True)

    def test_a_resumed_job_waits_while_other_jobs_run(self) -> None:
        suspect, fresh = claimed(1, attempt=2), claimed(2)
        assert split_claim([suspect, fresh], running=True) == ([fresh], [suspect], True)
