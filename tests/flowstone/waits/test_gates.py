"""Signal gates: a gate suspends its asset durably and one signal resumes it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import wait_pipelines as wp
from wait_support import Background

import flowstone as fs
from supervisors.testing import wait_for


def gate_of(node: fs.Node, asset: str = "transcoded", partition_key: str | None = None) -> fs.GateInfo:
    found = wait_for(
        lambda: [
            g
            for g in node.gates()
            if g.asset == asset and (partition_key is None or g.partition_key == partition_key)
        ],
        message=f"a gate of {asset}",
    )
    return found[0]  # type: ignore[no-any-return]


class TestSuspendAndResume:
    def test_a_gate_suspends_the_asset_and_a_signal_resumes_the_run(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background], calls: wp.Calls
    ) -> None:
        node = start_node()
        running = background(lambda: node.run(wp.gated, "published"))
        gate = gate_of(node)
        wait_for(lambda: node.status(wp.gated, "transcoded").state == "waiting", message="waiting")
        assert node.status(wp.gated, "published").state == "pending"
        assert gate.state == "waiting"
        assert gate.key == "job"
        assert gate.expires_at is not None

        info = node.signal(gate.token, {"url": "s3://out.mp4"})

        assert info.state == "signaled"
        assert running.result() == "v1 at s3://out.mp4"
        assert node.status(wp.gated, "transcoded").state == "completed"
        assert node.get(wp.gated, "transcoded") == {"video": "v1", "url": "s3://out.mp4"}
        assert [ref.asset for ref in node.lineage.upstream(wp.gated, "transcoded")] == ["video"]
        assert calls.counts["transcoded"] == 1  # on_signal computed the value; the function ran once

    def test_without_on_signal_the_payload_is_the_value(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background]
    ) -> None:
        node = start_node()
        running = background(lambda: node.run(wp.gated, "raw", partition="p"))
        node.signal(gate_of(node, "raw").token, [1, 2, 3])
        assert running.result() == [1, 2, 3]

    def test_a_signal_before_the_asset_returns_is_kept_and_resumes_it(
        self, start_node: Callable[..., fs.Node], calls: wp.Calls
    ) -> None:
        node = start_node()
        calls.signal_early = node
        assert node.run(wp.gated, "early", timeout=10) == "came first"
        assert node.gates(state="signaled")[0].asset == "early"

    def test_the_same_key_in_two_runs_gives_two_gates_and_each_token_resumes_only_its_run(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background]
    ) -> None:
        node = start_node()
        first = background(lambda: node.run(wp.gated, "transcoded", partition="a"))
        second = background(lambda: node.run(wp.gated, "transcoded", partition="b"))
        gate_a, gate_b = gate_of(node, partition_key='"a"'), gate_of(node, partition_key='"b"')
        assert gate_a.key == gate_b.key == "job"
        assert gate_a.token != gate_b.token
        assert gate_a.run_id != gate_b.run_id

        node.signal(gate_a.token, {"url": "for-a"})

        assert first.result() == {"video": "a", "url": "for-a"}
        # b's gate is written when ctx.gate is called, a moment before its asset suspends
        wait_for(lambda: node.status(wp.gated, "transcoded", "b").state == "waiting", message="b waits")
        with pytest.raises(fs.SignalError) as refused:
            node.signal(gate_a.token, {"url": "for-b"})
        assert refused.value.reason == "already_signaled"
        node.signal(gate_b.token, {"url": "for-b"})
        assert second.result() == {"video": "b", "url": "for-b"}

    def test_run_times_out_while_waiting_and_the_run_stays_waiting(
        self, start_node: Callable[..., fs.Node]
    ) -> None:
        node = start_node()
        with pytest.raises(TimeoutError, match="still waiting"):
            node.run(wp.gated, "published", timeout=2.0)
        assert node.status(wp.gated, "transcoded").state == "waiting"
        node.signal(gate_of(node).token, {"url": "later"})
        wait_for(lambda: node.status(wp.gated, "published").state == "completed", message="resumed")
        assert node.get(wp.gated, "published") == "v1 at later"


class TestRaces:
    def test_of_racing_signals_exactly_one_wins(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background]
    ) -> None:
        node = start_node()
        park(node, wp.gated, "transcoded")
        token = gate_of(node).token
        barrier = threading.Barrier(8)
        outcomes: list[Any] = []
        lock = threading.Lock()

        def send(n: int) -> None:
            barrier.wait()
            try:
                node.signal(token, {"url": f"from-{n}"})
                result: Any = n
            except fs.SignalError as exc:
                result = exc.reason
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if isinstance(o, int)]
        assert len(winners) == 1
        assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_signaled"] * 7
        wait_for(lambda: node.status(wp.gated, "transcoded").state == "completed", message="resumed")
        assert node.get(wp.gated, "transcoded")["url"] == f"from-{winners[0]}"


class TestCancel:
    def test_a_cancelled_gate_ends_its_asset_cancelled_and_its_downstream_does_not_run(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background], calls: wp.Calls
    ) -> None:
        node = start_node()
        running = background(lambda: node.run(wp.gated, "published"))
        gate = gate_of(node)
        assert node.cancel_gate(gate.token).state == "cancelled"
        with pytest.raises(fs.MaterializationError) as failed:
            running.result()
        assert isinstance(failed.value.__cause__, fs.WaitCancelledError)
        assert node.status(wp.gated, "transcoded").state == "cancelled"
        assert calls.counts["published"] == 0
        with pytest.raises(fs.SignalError) as refused:
            node.signal(gate.token, {"url": "too late"})
        assert refused.value.reason == "cancelled"
        assert node.gates(state="cancelled")[0].id == gate.id


class TestBackfill:
    def test_a_backfill_reports_waiting_partitions_and_a_signal_resumes_each(
        self, start_node: Callable[..., fs.Node]
    ) -> None:
        node = start_node()
        report = node.backfill(wp.gated, "raw", ["a", "b", "c"], parallel=2)
        assert (report.waiting, report.succeeded, report.failed) == (3, 0, 0)
        for gate in node.gates():
            node.signal(gate.token, gate.partition_key)
        for partition in ("a", "b", "c"):
            wait_for(lambda p=partition: node.status(wp.gated, "raw", p).state == "completed", timeout=10)
        assert node.get(wp.gated, "raw", "b") == '"b"'


class TestListing:
    def test_an_unknown_state_is_refused_naming_the_states(self, start_node: Callable[..., fs.Node]) -> None:
        node = start_node()
        for listing in (node.gates, node.approvals):
            with pytest.raises(fs.OptionError, match="takes one of"):
                listing(state="bogus")
            with pytest.raises(ValueError, match="takes one of"):  # an OptionError is a ValueError too
                listing(state="WAITING")
            assert listing(state="all") == listing(state=None)

    def test_metadata_that_is_not_json_fails_the_asset_with_its_path_and_writes_no_gate(
        self, start_node: Callable[..., fs.Node]
    ) -> None:
        p = fs.Pipeline("bad_metadata")

        @p.asset
        def waits(ctx: fs.Context) -> Any:
            return ctx.gate("k", timeout=60, metadata={"when": object()})

        node = start_node()
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(p, "waits", timeout=10)
        assert isinstance(failed.value.__cause__, fs.EncodeError)
        assert failed.value.__cause__.path == "value['when']"
        assert node.gates(state=None) == []
