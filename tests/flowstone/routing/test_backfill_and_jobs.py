"""Issue 16: backfills over partitions with routers, and routers in durable jobs (the
same execution path): skipped partitions are reported as such, and a retried job takes
the branch its first attempt took."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import flowstone as fs


def by_parity(
    ran: list[str] | None = None, fail_fast: list[bool] | None = None, asked: set[Any] | None = None
) -> fs.Pipeline:
    """Even partitions take ``fast``, odd ones ``slow``; ``fail_fast`` fails ``fast`` while true."""
    p = fs.Pipeline("parity")
    seen = ran if ran is not None else []
    failing = fail_fast if fail_fast is not None else [False]
    asked = asked if asked is not None else set()

    @p.router(branches=("fast", "slow"))
    def choose(ctx: fs.Context) -> str:
        seen.append("choose")
        # Asked again for a partition, it would choose otherwise: a retry must not ask it.
        again = ctx.partition in asked
        asked.add(ctx.partition)
        even = (ctx.partition or 0) % 2 == 0
        return "fast" if even != again else "slow"

    @p.asset(routed_from="choose")
    def fast(ctx: fs.Context) -> str:
        seen.append("fast")
        if failing[0]:
            failing[0] = False
            raise RuntimeError("fast failed once")
        return "fast"

    @p.asset(routed_from="choose")
    def slow(ctx: fs.Context) -> str:
        seen.append("slow")
        return "slow"

    @p.asset(optional=("fast", "slow"))
    def report(ctx: fs.Context, fast: str | None = None, slow: str | None = None) -> Any:
        return fast or slow

    return p


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def node(request: pytest.FixtureRequest) -> Iterator[fs.Node]:
    url: str | None = None
    if request.param != "memory":
        url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    with fs.start(database_url=url, max_concurrency=2) as started:
        yield started


class TestBackfill:
    def test_a_routed_asset_is_skipped_in_the_partitions_that_did_not_select_it(self, node: fs.Node) -> None:
        p = by_parity()
        report = node.backfill(p, "fast", range(10), parallel=3)
        assert (report.succeeded, report.skipped, report.not_selected, report.failed) == (5, 5, 5, 0)
        assert [node.status(p, "fast", n).state for n in range(4)] == ["completed", "skipped"] * 2

    def test_a_join_over_optional_branches_succeeds_in_every_partition(self, node: fs.Node) -> None:
        p = by_parity()
        report = node.backfill(p, "report", range(10), parallel=3)
        assert (report.succeeded, report.skipped, report.failed) == (10, 0, 0)
        assert [node.get(p, "report", n) for n in range(4)] == ["fast", "slow", "fast", "slow"]

    def test_each_skipped_partition_says_why(self, node: fs.Node) -> None:
        p = by_parity()
        node.run(p, "fast", partition=0)
        results = {r.partition: r for r in node.backfill_iter(p, "fast", range(3))}
        assert results[0].reason == "stored"
        assert results[1].status == "skipped"
        assert results[1].reason == "not_selected"
        assert results[1].run_id is not None
        assert results[2].status == "succeeded"

    def test_a_backfill_run_again_skips_the_not_selected_partitions_without_the_router(
        self, node: fs.Node
    ) -> None:
        ran: list[str] = []
        p = by_parity(ran)
        node.backfill(p, "fast", range(6))
        ran.clear()
        report = node.backfill(p, "fast", range(6))
        assert (report.skipped, report.not_selected) == (6, 3)
        assert ran == []


# Jobs name their pipeline by "module:attribute": these are module-level, with their state.
JOB_RAN: list[str] = []
JOB_FAILS: list[bool] = [False]
JOB_ASKED: set[Any] = set()
JOBS = by_parity(JOB_RAN, JOB_FAILS, JOB_ASKED)


@pytest.fixture(params=["sqlite", "postgres"])
def worker(request: pytest.FixtureRequest) -> Iterator[fs.Node]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    with fs.start(
        database_url=url,
        queues={"assets": 2},
        poll_interval=0.05,
        job_retry=fs.Retry(max_attempts=3, base_delay=0.01),
    ) as started:
        yield started


@pytest.fixture
def jobs() -> fs.Pipeline:
    """``JOBS`` with its state reset (the router is asked per partition, once per test)."""
    JOB_RAN.clear()
    JOB_FAILS[0] = False
    JOB_ASKED.clear()
    return JOBS


class TestJobs:
    def test_a_job_of_a_skipped_asset_completes_with_skipped(
        self, worker: fs.Node, jobs: fs.Pipeline
    ) -> None:
        p = jobs
        assert worker.submit(p, "fast", partition=1).wait(timeout=30) is fs.SKIPPED
        assert worker.status(p, "fast", 1).state == "skipped"
        assert worker.submit(p, "slow", partition=1).wait(timeout=30) == "slow"

    def test_a_retried_job_takes_the_branch_of_its_first_attempt(
        self, worker: fs.Node, jobs: fs.Pipeline
    ) -> None:
        ran, p = JOB_RAN, jobs
        JOB_FAILS[0] = True
        assert worker.submit(p, "report", partition=0).wait(timeout=30) == "fast"
        assert ran.count("choose") == 1
        assert ran.count("fast") == 2
        assert "slow" not in ran

    def test_a_durable_backfill_reports_the_skipped_partitions(
        self, worker: fs.Node, jobs: fs.Pipeline
    ) -> None:
        p = jobs
        report = worker.backfill(p, "slow", range(6), durable=True)
        assert (report.succeeded, report.skipped, report.not_selected, report.failed) == (3, 3, 3, 0)
