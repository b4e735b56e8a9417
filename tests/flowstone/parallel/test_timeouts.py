"""Issue 16, parallel branches: a branch, or the whole group, past its timeout counts as
failed with a timeout error (``fs.ParallelTimeoutError``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from parallel_pipelines import two_reports

import flowstone as fs


def test_a_branch_past_its_timeout_fails_the_group_with_a_timeout_error(node: fs.Node) -> None:
    hung = threading.Event()
    joins: list[dict[str, fs.BranchResult]] = []
    p = two_reports(
        joins,
        eu=lambda: hung.wait(20),
        branches={"eu": fs.Branch("eu_report", timeout=0.3), "us": "us_report"},
    )
    try:
        with pytest.raises(fs.MaterializationError) as caught:
            node.run(p, "reports", timeout=15)
    finally:
        hung.set()
    cause = caught.value.__cause__
    assert isinstance(cause, fs.ParallelTimeoutError)
    assert isinstance(cause, TimeoutError)
    assert list(cause.failures) == ["eu"]
    error = node.status(p, "reports").error or ""
    assert error.startswith("ParallelTimeoutError")
    assert "'eu'" in error
    assert joins == []


def test_the_group_timeout_fails_every_branch_still_running(node: fs.Node) -> None:
    hung = threading.Event()
    joins: list[dict[str, fs.BranchResult]] = []
    p = two_reports(joins, eu=lambda: hung.wait(20), us=lambda: hung.wait(20), timeout=0.3)
    try:
        with pytest.raises(fs.MaterializationError):
            node.run(p, "reports", timeout=15)
    finally:
        hung.set()
    error = node.status(p, "reports").error or ""
    assert error.startswith("ParallelTimeoutError")
    assert "eu, us" in error


def test_an_optional_branch_past_its_timeout_is_handed_to_the_join_as_timed_out(node: fs.Node) -> None:
    hung = threading.Event()
    timed_out = threading.Event()
    joins: list[dict[str, fs.BranchResult]] = []

    def required() -> None:
        # Ends once the optional branch's timeout has passed (plus the node's wait tick).
        timed_out.wait(1.0)

    p = two_reports(
        joins,
        eu=required,
        us=lambda: hung.wait(20),
        branches={"eu": "eu_report", "us": fs.Branch("us_report", required=False, timeout=0.2)},
        failure_mode="partial",
    )
    try:
        assert node.run(p, "reports", timeout=15) == {"eu": 12}
    finally:
        hung.set()
    [seen] = joins
    assert seen["us"].ok is False
    assert (seen["us"].error or "").startswith("ParallelTimeoutError")


def test_a_slow_branch_within_its_timeout_joins(node: fs.Node) -> None:
    joins: list[dict[str, fs.BranchResult]] = []
    gate = threading.Event()
    gate.set()
    p = two_reports(
        joins, eu=lambda: gate.wait(1), branches={"eu": fs.Branch("eu_report", timeout=30), "us": "us_report"}
    )
    result: Any = node.run(p, "reports", timeout=15)
    assert result == {"eu": 12, "us": 3}
