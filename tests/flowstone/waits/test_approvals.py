"""Approvals: a pending approval is decided once, by someone, and the decision is audited."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import wait_pipelines as wp
from wait_support import Background

import flowstone as fs
from supervisors.testing import wait_for


def pending(node: fs.Node) -> fs.ApprovalInfo:
    return wait_for(node.approvals, message="a pending approval")[0]  # type: ignore[no-any-return]


class TestApprovals:
    def test_an_approved_asset_is_called_again_with_ctx_approval_and_its_downstream_runs(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background], calls: wp.Calls
    ) -> None:
        node = start_node()
        running = background(lambda: node.run(wp.approvals, "announced"))
        approval = pending(node)
        assert approval.message == "Publish the Q3 report?"
        assert approval.context == {"rows": 3}
        assert (approval.asset, approval.state, approval.timeout_at) == ("publish", "pending", None)
        assert (approval.partition, approval.run) == (None, approval.run_id)
        wait_for(lambda: node.status(wp.approvals, "publish").state == "waiting", message="waiting")

        decided = node.approve(approval.id, by="alice", reason="numbers checked")

        assert decided.state == "approved"
        assert decided.decided_by == "alice"
        assert running.result() == "published by alice"
        assert node.get(wp.approvals, "publish") == {"rows": 3, "by": "alice", "reason": "numbers checked"}
        assert calls.counts["publish"] == 2
        assert node.approvals() == []
        assert node.approvals(state="approved")[0].id == approval.id

    def test_a_rejected_asset_fails_and_its_downstream_does_not_run(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background], calls: wp.Calls
    ) -> None:
        node = start_node()
        running = background(lambda: node.run(wp.approvals, "announced"))
        approval = pending(node)
        node.reject(approval.id, by="bob", reason="wrong quarter")
        with pytest.raises(fs.MaterializationError) as failed:
            running.result()
        cause = failed.value.__cause__
        assert isinstance(cause, fs.ApprovalRejectedError)
        assert (cause.by, cause.reason) == ("bob", "wrong quarter")
        assert node.status(wp.approvals, "publish").state == "failed"
        assert calls.counts["announced"] == 0
        assert calls.counts["publish"] == 1

    def test_an_approval_is_decided_once(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background]
    ) -> None:
        node = start_node()
        running = background(lambda: node.run(wp.approvals, "publish"))
        approval = pending(node)
        node.approve(approval.id, by="alice")
        for decide in (
            lambda: node.approve(approval.id, by="mallory"),
            lambda: node.reject(approval.id, by="mallory", reason="too late"),
        ):
            with pytest.raises(fs.ApprovalError) as caught:
                decide()
            assert caught.value.reason == "not_pending"
        assert running.result()["by"] == "alice"
        with pytest.raises(fs.ApprovalError) as unknown:
            node.approve("no-such-approval", by="alice")
        assert unknown.value.reason == "not_found"

    def test_an_expired_approval_fails_its_asset_and_cannot_be_approved(
        self, start_node: Callable[..., fs.Node]
    ) -> None:
        node = start_node(resources={"approval_timeout": 0.2})
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(wp.approvals, "publish", timeout=10)
        assert isinstance(failed.value.__cause__, fs.GateTimeoutError)
        expired = node.approvals(state="expired")[0]
        with pytest.raises(fs.ApprovalError) as caught:
            node.approve(expired.id, by="alice")
        assert caught.value.reason == "not_pending"

    def test_a_rejection_needs_a_reason_and_a_decision_someone(
        self, start_node: Callable[..., fs.Node]
    ) -> None:
        node = start_node()
        with pytest.raises(ValueError, match="reason"):
            node.reject("x", by="bob", reason="")
        with pytest.raises(ValueError, match="someone"):
            node.approve("x", by="")

    def test_requests_and_decisions_go_to_the_audit_log_with_the_actor(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background]
    ) -> None:
        node = start_node()
        running = background(lambda: node.run(wp.approvals, "publish"))
        approval = pending(node)
        node.approve(approval.id, by="alice", reason="ok")
        running.result()
        entries = {entry.event_type: entry for entry in node.audit()}
        assert entries["approval.requested"].details["wait_id"] == approval.id
        assert entries["approval.approved"].actor == "alice"
        assert entries["approval.approved"].details["reason"] == "ok"

    def test_request_approval_checks_its_options(self) -> None:
        with pytest.raises(ValueError, match="on_timeout"):
            fs.RequestApproval("ok?", on_timeout="later")
        with pytest.raises(ValueError, match="timeout"):
            fs.RequestApproval("ok?", timeout=-1)
        with pytest.raises(ValueError, match="message"):
            fs.RequestApproval("")


class TestContext:
    def test_a_context_that_is_not_json_is_refused_with_its_path_when_requested(self) -> None:
        with pytest.raises(fs.EncodeError, match="context") as refused:
            fs.RequestApproval("Publish?", context={"rows": [1, object()]})
        assert refused.value.path == "value['rows'][1]"
        with pytest.raises(fs.OptionError, match="mapping"):
            fs.RequestApproval("Publish?", context=["rows"])  # type: ignore[arg-type]
