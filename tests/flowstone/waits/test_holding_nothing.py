"""While runs wait nothing is held: no thread, no runner; events and health report waits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import wait_pipelines as wp
from wait_support import Background

import flowstone as fs
from flowstone import events
from supervisors.testing import wait_for


def park_many(node: fs.Node, count: int) -> None:
    """Start ``count`` runs that wait, from a few threads (joined before this returns)."""

    def one(n: int) -> None:
        # The timeout also bounds the run until it waits: long enough for 32 runs queued on
        # a few runners of a loaded machine to reach their gates (1 s was not, once, on a
        # 2-CPU machine running a benchmark beside the suite).
        with pytest.raises(TimeoutError, match="still waiting"):
            node.run(wp.gated, "raw", partition=f"p{n}", timeout=2.0)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(count)))


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
class TestNothingHeld:
    @pytest.mark.parametrize("count", [100, pytest.param(1_000, marks=pytest.mark.slow)])
    def test_waiting_runs_add_no_thread_and_resume_on_a_bounded_pool(
        self, start_node: Callable[..., fs.Node], count: int
    ) -> None:
        node = start_node(max_concurrency=4)
        park_many(node, 20)  # the node's own threads are all started now
        before = threading.active_count()
        park_many(node, count)
        assert threading.active_count() <= before + 2  # a constant: none per waiting run
        assert len(node.gates()) == count + 20
        assert {node.status(wp.gated, "raw", f"p{n}").state for n in range(0, count, 37)} == {"waiting"}
        for gate in node.gates():
            node.signal(gate.token, gate.partition_key)
        wait_for(lambda: not node.gates(), timeout=30, message="all resumed")
        wait_for(lambda: node.status(wp.gated, "raw", f"p{count - 1}").state == "completed", timeout=30)
        assert threading.active_count() <= before + 2 + node.config.max_concurrency
        assert node.get(wp.gated, "raw", "p7") == '"p7"'


class TestEventsAndHealth:
    def test_gate_events_are_sent_after_each_change(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background]
    ) -> None:
        node = start_node()
        seen: list[events.Event] = []
        with node.events.subscribe(seen.append):
            park(node, wp.gated, "raw", partition="a")
            park(node, wp.gated, "raw", partition="b")
            gate_a, gate_b = sorted(node.gates(), key=lambda g: g.partition_key)
            node.signal(gate_a.token, 1)
            node.cancel_gate(gate_b.token)
            wait_for(lambda: node.status(wp.gated, "raw", "a").state == "completed")
        kinds = [type(e).__name__ for e in seen if isinstance(e, events.WaitEvent)]
        assert kinds.count("GateCreated") == 2
        assert "GateSignaled" in kinds
        assert "GateCancelled" in kinds
        signalled = next(e for e in seen if isinstance(e, events.GateSignaled))
        assert (signalled.wait_id, signalled.asset, signalled.key) == (gate_a.id, "raw", "raw-a")

    def test_approval_and_expiry_events(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background]
    ) -> None:
        node = start_node(resources={"gate_timeout": 0.2})
        seen: list[events.Event] = []
        with node.events.subscribe(seen.append):
            with pytest.raises(fs.MaterializationError):
                node.run(wp.gated, "raw", partition="x", timeout=10)
            park(node, wp.approvals, "publish")
            node.approve(node.approvals()[0].id, by="alice")
            wait_for(lambda: node.status(wp.approvals, "publish").state == "completed")
        kinds = [type(e).__name__ for e in seen if isinstance(e, events.WaitEvent)]
        assert {"GateCreated", "GateExpired", "ApprovalRequested", "ApprovalApproved"} <= set(kinds)
        approved = next(e for e in seen if isinstance(e, events.ApprovalApproved))
        assert approved.actor == "alice"

    def test_health_counts_waiting_runs(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background]
    ) -> None:
        node = start_node()
        park(node, wp.gated, "raw", partition="a")
        check = node.health().checks["waits"]
        assert check.ok
        assert check.detail == "1 waiting, 0 overdue"

    @pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
    def test_health_reports_overdue_waits_nobody_fired(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background]
    ) -> None:
        node = start_node()
        park(node, wp.gated, "raw", partition="a")
        node.stop()
        from sqlalchemy import create_engine, text

        engine = create_engine(node.config.database_url or "")
        with engine.begin() as connection:  # as if no node had fired it for a minute
            connection.execute(
                text("UPDATE flowstone_waits SET expires_at = '2000-01-01 00:00:00', state = 'pending'")
            )
        engine.dispose()
        inspector = start_node(wait_tick=3600)  # never fires it meanwhile
        check = inspector.health().checks["waits"]
        assert not check.ok
        assert "1 overdue" in check.detail
