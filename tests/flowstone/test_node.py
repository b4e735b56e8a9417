"""The node: its supervision tree in dependency order [7], health [11] and events."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import flowstone as fs
from flowstone._node import assembly
from flowstone._store import MemoryStore
from flowstone.events import MaterializationFailed, MaterializationFinished, MaterializationStarted
from supervisors.testing import wait_for

TREE_ORDER = [child for child in assembly.TREE_ORDER if child != "jobs"]  # a memory node has no jobs
CHECKS = {"store", "registry", "lineage", "lineage_failures", "resources", "runners"}


class HangingStore(MemoryStore):
    """A memory store whose ``ping`` hangs until released, like a database that stopped answering."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def ping(self) -> None:
        self.release.wait(30)


class BrokenResource:
    def health(self) -> None:
        raise ConnectionError("warehouse unreachable")


class HealthyResource:
    def __init__(self) -> None:
        self.checked = 0

    def health(self) -> None:
        self.checked += 1


class TestTree:
    """[7] the start order is the dependency order, enforced by a rest_for_one root."""

    def test_children_are_in_dependency_order(self, node: fs.Node) -> None:
        tree = node.tree()
        assert [child.id for child in tree.children] == TREE_ORDER
        assert all(child.status == "running" for child in tree.children)

    def test_root_strategy_is_rest_for_one(self, node: fs.Node) -> None:
        assert node.tree().strategy == "rest_for_one"

    def test_runners_supervisor_holds_max_concurrency_runners(self) -> None:
        with fs.start(max_concurrency=3) as node:
            runners = next(child for child in node.tree().children if child.id == "runners")
            assert runners.kind == "dynamic_supervisor"
            assert [c.status for c in runners.children] == ["running"] * 3

    def test_render_tree_draws_every_child(self, node: fs.Node) -> None:
        drawn = node.render_tree()
        for child_id in TREE_ORDER:
            assert child_id in drawn

    @pytest.mark.timeout(20)
    @pytest.mark.parametrize("crashed", ["store", "registry", "lineage"])
    def test_a_crash_restarts_that_child_and_every_later_one(
        self, node: fs.Node, sales: fs.Pipeline, crashed: str
    ) -> None:
        before = {child_id: node._root.whereis(child_id) for child_id in TREE_ORDER}
        position = TREE_ORDER.index(crashed)
        before[crashed].tell("bogus")  # an unexpected message raises inside the actor

        def restarted() -> bool:
            now = {child_id: node._root.whereis(child_id) for child_id in TREE_ORDER}
            return all(now[c] is not None and now[c] != before[c] for c in TREE_ORDER[position:])

        wait_for(restarted, message=f"{crashed} and its dependants restarted")
        for child_id in TREE_ORDER[:position]:
            assert node._root.whereis(child_id) == before[child_id]
        assert node.is_alive()
        assert node.run(sales, "total", timeout=10) == 30
        assert node.health().status == "ok"

    @pytest.mark.timeout(20)
    def test_a_crashed_store_leaves_no_runner_behind(self, node: fs.Node) -> None:
        old_runners = node._root.whereis("runners")
        node._root.whereis("store").tell("bogus")
        wait_for(
            lambda: node._root.whereis("runners") not in (None, old_runners), message="runners restarted"
        )
        assert not old_runners.is_alive()
        runners = next(child for child in node.tree().children if child.id == "runners")
        assert [c.status for c in runners.children] == ["running"] * node.config.max_concurrency

    def test_stop_leaves_no_threads(self, sales: fs.Pipeline) -> None:
        before = set(threading.enumerate())
        node = fs.start()
        assert len(set(threading.enumerate()) - before) > 0
        node.run(sales, "total")
        node.backfill(sales, "total", ["a", "b", "c"], parallel=2)
        node.stop()
        assert not node.is_alive()
        wait_for(
            lambda: not [t for t in threading.enumerate() if t not in before and t.is_alive()],
            message="every node thread joined",
        )

    def test_the_context_manager_stops_the_node(self) -> None:
        with fs.start() as node:
            assert node.is_alive()
        assert not node.is_alive()

    def test_an_unknown_start_option_names_the_valid_ones(self) -> None:
        with pytest.raises(TypeError, match="max_concurrency"):
            fs.start(concurrency=3)


class TestHealth:
    """[11] a structured status of every component that never raises."""

    def test_a_fresh_node_is_ok_with_every_check_named(self, node: fs.Node) -> None:
        health = node.health()
        assert isinstance(health, fs.Health)
        assert health.status == "ok"
        assert set(health.checks) >= CHECKS
        for name, check in health.checks.items():
            assert isinstance(check, fs.Check)
            assert check.ok, f"{name}: {check.detail}"
            assert check.latency_ms >= 0

    def test_health_is_a_plain_dict_for_tools(self, node: fs.Node) -> None:
        data = node.health().to_dict()
        assert data["status"] == "ok"
        assert set(data["checks"]) >= CHECKS

    def test_healthy_resources_are_checked(self) -> None:
        resource = HealthyResource()
        with fs.start(resources={"warehouse": resource}) as node:
            assert node.health().checks["resources"].ok
        assert resource.checked == 1

    def test_a_resource_whose_health_raises_degrades_the_node(self) -> None:
        with fs.start(resources={"warehouse": BrokenResource(), "fine": HealthyResource()}) as node:
            health = node.health()
        assert health.status == "degraded"
        check = health.checks["resources"]
        assert not check.ok
        assert "warehouse" in check.detail
        assert "warehouse unreachable" in check.detail
        assert "fine" not in check.detail
        assert health.checks["store"].ok

    @pytest.mark.timeout(20)
    def test_a_store_that_hangs_fails_its_check_within_the_deadline(self) -> None:
        store = HangingStore()
        node = fs.start(store=store, health_timeout=0.2)
        try:
            started = time.monotonic()
            health = node.health()
            elapsed = time.monotonic() - started
            assert health.status == "down"
            assert not health.checks["store"].ok
            assert "0.2" in health.checks["store"].detail
            assert elapsed < 2.0
            assert health.checks["runners"].ok
        finally:
            store.release.set()
            node.stop()

    def test_health_never_raises_after_the_node_stopped(self) -> None:
        node = fs.start()
        node.stop()
        health = node.health()
        assert health.status == "down"
        assert not all(check.ok for check in health.checks.values())

    def test_health_reports_a_restarted_runner(
        self, node: fs.Node, monkeypatch: pytest.MonkeyPatch, sales: fs.Pipeline
    ) -> None:
        from flowstone._execution.runner import RunnerActor

        original = RunnerActor._execute
        fault = threading.Event()
        fault.set()

        def faulty(self: RunnerActor, task: Any) -> Any:
            if fault.is_set():
                fault.clear()
                raise RuntimeError("injected runner fault")
            return original(self, task)

        monkeypatch.setattr(RunnerActor, "_execute", faulty)
        with pytest.raises(fs.MaterializationError):
            node.run(sales, "numbers", timeout=10)
        check = wait_for(
            lambda: (c := node.health().checks["runners"]).ok and "1 restarted" in c.detail and c,
            message="runner restart reported",
        )
        assert check.ok


class TestEvents:
    def test_node_subscribers_receive_started_and_finished(self, node: fs.Node, sales: fs.Pipeline) -> None:
        events: list[fs.events.Event] = []
        with node.events.subscribe(events.append):
            node.run(sales, "doubled", partition="p")
        started = [(e.asset, e.partition, e.attempt) for e in events if isinstance(e, MaterializationStarted)]
        finished = [e for e in events if isinstance(e, MaterializationFinished)]
        assert started == [("numbers", "p", 1), ("doubled", "p", 1)]
        assert [(e.asset, e.partition, e.attempts) for e in finished] == [
            ("numbers", "p", 1),
            ("doubled", "p", 1),
        ]
        assert all(e.pipeline == "sales" and e.duration_ms >= 0 for e in finished)
        assert len({e.run_id for e in finished}) == 1

    def test_process_subscribers_receive_failures_from_every_node(self, sales: fs.Pipeline) -> None:
        pipeline = fs.Pipeline("events-failing")

        @pipeline.asset
        def broken(ctx: fs.Context) -> int:
            raise ValueError("nope")

        events: list[fs.events.Event] = []
        with fs.events.subscribe(events.append), fs.start() as first, fs.start() as second:
            with pytest.raises(fs.MaterializationError) as caught:
                first.run(pipeline, "broken")
            second.run(sales, "numbers")
        failed = [e for e in events if isinstance(e, MaterializationFailed)]
        assert [(e.pipeline, e.asset, e.attempts, e.run_id) for e in failed] == [
            ("events-failing", "broken", 1, caught.value.run_id)
        ]
        assert "ValueError: nope" in failed[0].error
        assert any(isinstance(e, MaterializationFinished) and e.pipeline == "sales" for e in events)

    def test_a_cancelled_subscription_receives_nothing_more(self, node: fs.Node, sales: fs.Pipeline) -> None:
        events: list[fs.events.Event] = []
        subscription = node.events.subscribe(events.append)
        subscription.cancel()
        node.run(sales, "numbers")
        assert events == []

    def test_a_failing_subscriber_does_not_break_the_run(self, node: fs.Node, sales: fs.Pipeline) -> None:
        def explode(event: fs.events.Event) -> None:
            raise RuntimeError("subscriber bug")

        with node.events.subscribe(explode):
            assert node.run(sales, "total") == 30

    def test_a_node_subscriber_sees_only_its_node(self, node: fs.Node, sales: fs.Pipeline) -> None:
        events: list[fs.events.Event] = []
        with node.events.subscribe(events.append), fs.start() as other:
            other.run(sales, "numbers")
        assert events == []
