"""Issue 16, parallel branches: branches run concurrently, the parallel asset waits
durably meanwhile, and its join runs exactly once with every branch's result."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from parallel_pipelines import two_reports

import flowstone as fs
from supervisors.testing import wait_for


def test_the_join_runs_once_with_the_value_of_every_branch(node: fs.Node) -> None:
    joins: list[dict[str, fs.BranchResult]] = []
    p = two_reports(joins)
    assert node.run(p, "reports", timeout=30) == {"eu": 12, "us": 3}
    assert joins == [{"eu": fs.BranchResult(True, 12), "us": fs.BranchResult(True, 3)}]
    assert node.status(p, "reports").state == "completed"
    assert node.get(p, "eu_report") == 12  # a branch's value is stored with its final asset


def test_branches_run_at_the_same_time(node: fs.Node) -> None:
    both = threading.Barrier(2, timeout=10)  # breaks (and fails a branch) if they ran one by one
    joins: list[dict[str, fs.BranchResult]] = []
    p = two_reports(joins, eu=both.wait, us=both.wait)
    assert node.run(p, "reports", timeout=30) == {"eu": 12, "us": 3}


def test_the_parallel_asset_is_waiting_while_its_branches_run(node: fs.Node) -> None:
    release = threading.Event()
    joins: list[dict[str, fs.BranchResult]] = []
    p = two_reports(joins, eu=lambda: release.wait(10))
    answer: list[Any] = []
    runner = threading.Thread(target=lambda: answer.append(node.run(p, "reports", timeout=30)))
    runner.start()
    try:
        wait_for(lambda: node.status(p, "reports").state == "waiting", timeout=10, message="waiting")
        wait_for(lambda: node.status(p, "us_report").state == "completed", timeout=10, message="us")
        assert node.status(p, "reports").state == "waiting"  # one branch still runs: no join yet
        assert joins == []
    finally:
        release.set()
        runner.join(timeout=30)
    assert answer == [{"eu": 12, "us": 3}]
    assert len(joins) == 1


def test_a_branch_is_the_whole_sub_graph_that_ends_at_its_final_asset(node: fs.Node) -> None:
    p = fs.Pipeline("chains")

    @p.asset
    def raw(ctx: fs.Context) -> int:
        return 2

    @p.asset
    def squared(ctx: fs.Context, raw: int) -> int:
        return raw * raw

    @p.asset
    def cubed(ctx: fs.Context, squared: int, raw: int) -> int:
        return squared * raw

    @p.parallel(branches={"square": "squared", "cube": "cubed"})
    def powers(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> list[int]:
        return [branches["square"].value, branches["cube"].value]

    assert node.run(p, "powers", timeout=30) == [4, 8]
    assert node.status(p, "raw").state == "completed"


def test_a_branch_skipped_by_a_router_is_skipped_not_failed(node: fs.Node) -> None:
    p = fs.Pipeline("routed_branches")

    @p.router(branches=("fast", "slow"))
    def choose(ctx: fs.Context) -> str:
        return "fast"

    @p.asset(routed_from="choose")
    def fast(ctx: fs.Context) -> str:
        return "fast"

    @p.asset(routed_from="choose")
    def slow(ctx: fs.Context) -> str:
        return "slow"

    @p.parallel(branches={"a": "fast", "b": "slow"})
    def both(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> dict[str, Any]:
        return {name: (b.ok, b.skipped) for name, b in branches.items()}

    assert node.run(p, "both", timeout=30) == {"a": (True, False), "b": (False, True)}


def test_partitions_join_separately_in_a_backfill(node: fs.Node) -> None:
    p = fs.Pipeline("per_day")

    @p.asset
    def left(ctx: fs.Context) -> int:
        return int(ctx.partition) * 10

    @p.asset
    def right(ctx: fs.Context) -> int:
        return int(ctx.partition)

    @p.parallel(branches={"l": "left", "r": "right"})
    def summed(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        return int(branches["l"].value) + int(branches["r"].value)

    report = node.backfill(p, "summed", range(4), parallel=2, timeout=60)
    # Branches end by themselves: the backfill reports each partition once it has joined
    # (a gate, which waits for somebody, would be reported waiting).
    assert (report.succeeded, report.waiting, report.failed) == (4, 0, 0)
    assert all(node.status(p, "summed", n).state == "completed" for n in range(4))
    assert [node.get(p, "summed", n) for n in range(4)] == [0, 11, 22, 33]


def test_a_failed_join_is_a_failed_partition_of_the_backfill(node: fs.Node) -> None:
    p = fs.Pipeline("per_day_failing")

    @p.asset
    def left(ctx: fs.Context) -> int:
        if ctx.partition == 1:
            raise ValueError("no data for day 1")
        return int(ctx.partition)

    @p.parallel(branches={"l": "left"})
    def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        return int(branches["l"].value)

    report = node.backfill(p, "joined", range(3), timeout=60)
    assert (report.succeeded, report.failed, report.waiting) == (2, 1, 0)
    assert [f.partition for f in report.failures] == [1]


@pytest.mark.parametrize("url", ["memory"], indirect=True)
def test_a_retried_join_is_called_again_without_running_the_branches_again(node: fs.Node) -> None:
    runs: list[str] = []
    p = fs.Pipeline("flaky_join")

    @p.asset
    def part(ctx: fs.Context) -> int:
        runs.append("part")
        return 1

    @p.parallel(branches={"only": "part"}, retry=fs.Retry(max_attempts=2, base_delay=0.01))
    def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        runs.append("join")
        if runs.count("join") == 1:
            raise RuntimeError("flaky")
        return int(branches["only"].value)

    assert node.run(p, "joined", timeout=30) == 1
    assert runs == ["part", "join", "join"]


def test_the_assets_downstream_of_the_join_run_after_it_in_the_same_run(node: fs.Node) -> None:
    joins: list[dict[str, fs.BranchResult]] = []
    p = fs.Pipeline("downstream")

    @p.asset
    def left(ctx: fs.Context) -> int:
        return 1

    @p.asset
    def right(ctx: fs.Context) -> int:
        return 2

    @p.parallel(branches={"l": "left", "r": "right"})
    def both(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> int:
        joins.append(dict(branches))
        return int(branches["l"].value) + int(branches["r"].value)

    @p.asset
    def published(ctx: fs.Context, both: int) -> str:
        return f"published {both}"

    assert node.run(p, "published", timeout=30) == "published 3"
    assert len(joins) == 1
    assert node.status(p, "both").run_id == node.status(p, "published").run_id
