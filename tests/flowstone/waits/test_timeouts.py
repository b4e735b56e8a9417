"""Durable timeouts: fail, retry and cancel, also when the node that created the wait is gone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import wait_pipelines as wp
from wait_support import Background

import flowstone as fs
from supervisors.testing import wait_for


class TestOnTimeout:
    def test_fail_fails_the_asset_with_gate_timeout_error_and_its_downstream_does_not_run(
        self, start_node: Callable[..., fs.Node], calls: wp.Calls
    ) -> None:
        node = start_node(resources={"gate_timeout": 0.2})
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(wp.gated, "published", timeout=10)
        assert isinstance(failed.value.__cause__, fs.GateTimeoutError)
        assert node.status(wp.gated, "transcoded").state == "failed"
        assert "GateTimeoutError" in (node.status(wp.gated, "transcoded").error or "")
        assert calls.counts["published"] == 0
        assert [g.state for g in node.gates(state=None)] == ["expired"]

    def test_retry_runs_the_asset_again_with_a_new_token_until_its_retries_run_out(
        self, start_node: Callable[..., fs.Node], calls: wp.Calls
    ) -> None:
        resources = {"gate_timeout": 0.2, "on_timeout": "retry", "max_timeout_retries": 2}
        node = start_node(resources=resources)
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(wp.gated, "transcoded", timeout=10)
        assert isinstance(failed.value.__cause__, fs.GateTimeoutError)
        assert calls.counts["transcoded"] == 3  # the first call and two retries

    def test_a_retried_gate_takes_a_signal_on_its_new_token_and_refuses_the_old_one(
        self, start_node: Callable[..., fs.Node], calls: wp.Calls, park: Callable[..., Background]
    ) -> None:
        node = start_node(resources={"gate_timeout": 0.3, "on_timeout": "retry", "max_timeout_retries": 50})
        park(node, wp.gated, "transcoded")
        old = node.gates()[0].token
        wait_for(lambda: calls.counts["transcoded"] >= 2, message="retried")
        new = wait_for(lambda: [g.token for g in node.gates() if g.token != old], message="a new token")[0]
        with pytest.raises(fs.SignalError) as refused:
            node.signal(old, {"url": "old"})
        assert refused.value.reason == "expired"
        try:
            node.signal(new, {"url": "new"})
        except fs.SignalError:  # it expired again meanwhile (a slow machine): the next one
            new = wait_for(
                lambda: [g.token for g in node.gates() if g.token not in (old, new)], message="next"
            )[0]
            node.signal(new, {"url": "new"})
        wait_for(lambda: node.status(wp.gated, "transcoded").state == "completed", message="resumed")
        assert node.get(wp.gated, "transcoded")["url"] == "new"

    def test_an_approval_that_expires_is_asked_again_until_its_retries_run_out(
        self, start_node: Callable[..., fs.Node], calls: wp.Calls
    ) -> None:
        resources = {"approval_timeout": 0.2, "on_timeout": "retry", "max_timeout_retries": 2}
        node = start_node(resources=resources)
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(wp.approvals, "publish", timeout=10)
        assert isinstance(failed.value.__cause__, fs.GateTimeoutError)
        assert calls.counts["publish"] == 3  # the first request and two retries
        assert [a.state for a in node.approvals(state=None)] == ["expired"] * 3

    def test_cancel_ends_the_asset_cancelled(
        self, start_node: Callable[..., fs.Node], calls: wp.Calls
    ) -> None:
        node = start_node(resources={"gate_timeout": 0.2, "on_timeout": "cancel"})
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(wp.gated, "published", timeout=10)
        assert isinstance(failed.value.__cause__, fs.WaitCancelledError)
        assert node.status(wp.gated, "transcoded").state == "cancelled"
        assert calls.counts["published"] == 0

    def test_a_timeout_fires_once_and_is_audited(self, start_node: Callable[..., fs.Node]) -> None:
        node = start_node(resources={"gate_timeout": 0.2})
        with pytest.raises(fs.MaterializationError):
            node.run(wp.gated, "transcoded", timeout=10)
        assert [e.event_type for e in node.audit()].count("gate.expired") == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
class TestWithTheCreatingNodeStopped:
    """Another node on the database (one that keeps it up: a worker, or ``upkeep=True``)
    fires the timeout of a wait whose node is gone."""

    @pytest.mark.parametrize(
        ("on_timeout", "state", "error"),
        [("fail", "failed", "GateTimeoutError"), ("cancel", "cancelled", "WaitCancelledError")],
    )
    def test_fail_and_cancel(
        self,
        start_node: Callable[..., fs.Node],
        on_timeout: str,
        state: str,
        error: str,
        park: Callable[..., Background],
    ) -> None:
        creator = start_node(resources={"gate_timeout": 0.5, "on_timeout": on_timeout})
        park(creator, wp.gated, "published")
        creator.stop()
        other = start_node(resources={"gate_timeout": 0.5, "on_timeout": on_timeout}, upkeep=True)
        wait_for(lambda: other.status(wp.gated, "transcoded").state == state, timeout=10, message=state)
        assert error in (other.status(wp.gated, "transcoded").error or "")
        assert other.status(wp.gated, "published").state == "pending"  # never ran

    def test_retry_reruns_the_asset_on_the_other_node(
        self, start_node: Callable[..., fs.Node], calls: wp.Calls, park: Callable[..., Background]
    ) -> None:
        resources = {"gate_timeout": 0.5, "on_timeout": "retry", "max_timeout_retries": 5}
        creator = start_node(resources=resources)
        park(creator, wp.gated, "published")
        first = creator.gates()[0]
        creator.stop()
        other = start_node(resources={**resources, "gate_timeout": 3600}, upkeep=True)
        renewed = wait_for(
            lambda: [g for g in other.gates() if g.id == first.id and g.token != first.token], timeout=10
        )[0]
        other.signal(renewed.token, {"url": "after-retry"})
        wait_for(lambda: other.status(wp.gated, "published").state == "completed", timeout=10)
        assert other.get(wp.gated, "published") == "v1 at after-retry"
        assert calls.counts["transcoded"] == 2


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_node_without_upkeep_fires_only_its_own_timeouts_and_takes_no_lease(
    start_node: Callable[..., fs.Node], park: Callable[..., Background], url: str
) -> None:
    from sqlalchemy import create_engine, text

    creator = start_node(resources={"gate_timeout": 0.3})
    park(creator, wp.gated, "transcoded")
    creator.stop()
    bystander = start_node()  # runs and submits only
    engine = create_engine(url)
    try:
        wait_for(
            lambda: bystander.gates(state=None)[0].expires_at < datetime.now(UTC) - timedelta(seconds=0.5)
        )
        assert bystander.gates()[0].state == "waiting"  # not its wait: left to a node with upkeep
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM flowstone_leases")).scalar() == 0
        keeper = start_node(upkeep=True)
        wait_for(lambda: keeper.status(wp.gated, "transcoded").state == "failed", timeout=10)
    finally:
        engine.dispose()
