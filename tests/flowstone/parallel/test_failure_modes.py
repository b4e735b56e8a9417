"""Issue 16, parallel branches: ``failure_mode="all"`` fails on any failed branch,
``"partial"`` joins once every required branch has ended, leaving slow optional ones out."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from parallel_pipelines import two_reports

import flowstone as fs


def boom() -> None:
    raise ValueError("no EU data")


class TestAll:
    def test_a_failing_branch_fails_the_parallel_asset_without_waiting_for_a_slow_one(
        self, node: fs.Node
    ) -> None:
        slow = threading.Event()  # released only after the failure: a join that waited would hang
        joins: list[dict[str, fs.BranchResult]] = []
        p = two_reports(joins, eu=boom, us=lambda: slow.wait(20))
        try:
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(p, "reports", timeout=15)
        finally:
            slow.set()
        assert joins == []
        status = node.status(p, "reports")
        assert status.state == "failed"
        assert "ParallelBranchError" in (status.error or "")
        assert "no EU data" in (status.error or "")
        cause = caught.value.__cause__
        assert isinstance(cause, fs.ParallelBranchError)
        assert cause.failures == {"eu": "ValueError: no EU data"}

    def test_the_error_names_the_failed_branches(self, node: fs.Node) -> None:
        joins: list[dict[str, fs.BranchResult]] = []
        p = two_reports(joins, eu=boom)
        with pytest.raises(fs.MaterializationError):
            node.run(p, "reports", timeout=15)
        error = node.status(p, "reports").error or ""
        assert "branch(es) eu failed" in error
        assert "ValueError: no EU data" in error

    def test_a_failure_is_not_retried(self, node: fs.Node) -> None:
        calls: list[str] = []

        def failing() -> None:
            calls.append("eu")
            boom()

        joins: list[dict[str, fs.BranchResult]] = []
        p = two_reports(joins, eu=failing, retry=fs.Retry(max_attempts=3, base_delay=0.01))
        with pytest.raises(fs.MaterializationError):
            node.run(p, "reports", timeout=15)
        assert node.status(p, "reports").attempts == 1


class TestPartial:
    def test_a_failing_and_a_slow_optional_branch_do_not_stop_the_join(self, node: fs.Node) -> None:
        slow = threading.Event()
        joins: list[dict[str, fs.BranchResult]] = []
        p = fs.Pipeline("partial")

        @p.asset
        def main(ctx: fs.Context) -> str:
            return "main"

        @p.asset
        def failing(ctx: fs.Context) -> str:
            raise ValueError("broken")

        @p.asset
        def slowly(ctx: fs.Context) -> str:
            slow.wait(20)
            return "late"

        @p.parallel(
            branches={
                "main": "main",
                "failing": fs.Branch("failing", required=False),
                "slow": fs.Branch("slowly", required=False),
            },
            failure_mode="partial",
        )
        def joined(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> dict[str, Any]:
            joins.append(dict(branches))
            return {name: b.value for name, b in branches.items() if b.ok}

        try:
            # The join needs "failing" to have ended only if it is required: wait for it
            # to fail first, so that this run's outcome does not depend on timing.
            assert node.run(p, "joined", timeout=15) == {"main": "main"}
        finally:
            slow.set()
        [seen] = joins
        assert seen["main"] == fs.BranchResult(True, "main")
        assert seen["slow"].skipped
        assert not seen["slow"].ok
        assert "left out" in (seen["slow"].error or "")
        assert seen["failing"].ok is False
        # "failing" may have ended before or after the join: failed, or left out.
        assert seen["failing"].skipped or "broken" in (seen["failing"].error or "")

    def test_a_failed_required_branch_fails_it(self, node: fs.Node) -> None:
        joins: list[dict[str, fs.BranchResult]] = []
        p = two_reports(
            joins,
            eu=boom,
            branches={"eu": "eu_report", "us": fs.Branch("us_report", required=False)},
            failure_mode="partial",
        )
        with pytest.raises(fs.MaterializationError):
            node.run(p, "reports", timeout=15)
        assert joins == []
        assert "ParallelBranchError" in (node.status(p, "reports").error or "")

    def test_a_failed_optional_branch_that_ended_first_is_handed_to_the_join(self, node: fs.Node) -> None:
        failed = threading.Event()
        joins: list[dict[str, fs.BranchResult]] = []

        def failing() -> None:
            failed.set()
            boom()

        p = two_reports(
            joins,
            eu=lambda: failed.wait(10),  # the required branch ends after the optional one failed
            us=failing,
            branches={"eu": "eu_report", "us": fs.Branch("us_report", required=False)},
            failure_mode="partial",
        )
        assert node.run(p, "reports", timeout=15) == {"eu": 12}
        [seen] = joins
        us = seen["us"]
        if not us.skipped:  # it had ended (its row written) before the required branch did
            assert us == fs.BranchResult(False, None, "ValueError: no EU data", False)


def test_running_a_failed_parallel_asset_again_runs_its_failed_branch_again(node: fs.Node) -> None:
    attempts: list[str] = []

    def flaky() -> None:
        attempts.append("eu")
        if len(attempts) == 1:
            boom()

    joins: list[dict[str, fs.BranchResult]] = []
    p = two_reports(joins, eu=flaky)
    with pytest.raises(fs.MaterializationError):
        node.run(p, "reports", timeout=15)
    assert node.run(p, "reports", timeout=15) == {"eu": 12, "us": 3}
    assert attempts == ["eu", "eu"]
    assert len(joins) == 1
