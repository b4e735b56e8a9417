"""Running assets on a node: results, caching, failures, retries and containment."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from structlog.testing import capture_logs

import flowstone as fs
import flowstone._default
from flowstone._execution.runner import RunnerActor
from flowstone._store import MemoryStore
from flowstone.events import MaterializationFailed, RetryScheduled
from supervisors import TreeNode
from supervisors.testing import wait_for
from tests.flowstone.gate import Gate


class TestResults:
    def test_the_sum_chain_totals_thirty(self, node: fs.Node, sales: fs.Pipeline) -> None:
        assert node.run(sales, "total") == 30
        assert node.get(sales, "numbers") == [1, 2, 3, 4, 5]
        assert node.get(sales, "doubled") == [2, 4, 6, 8, 10]

    def test_a_materialization_is_logged_with_its_duration_when_the_level_lets_it_through(
        self, node: fs.Node
    ) -> None:
        pipeline = fs.Pipeline("logged")

        @pipeline.asset
        def value(ctx: fs.Context) -> int:
            return 1

        with capture_logs() as logs:
            node.run(pipeline, "value")
        materialized = [e for e in logs if e["event"] == "asset.materialized"]
        assert len(materialized) == 1
        assert materialized[0]["asset"] == "value"
        assert isinstance(materialized[0]["duration_ms"], float)

    def test_partitions_are_stored_separately(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("regions")

        @pipeline.asset
        def label(ctx: fs.Context) -> str:
            return f"data for {ctx.partition}"

        assert node.run(pipeline, "label", partition="eu") == "data for eu"
        assert node.run(pipeline, "label", partition="us") == "data for us"
        assert node.get(pipeline, "label", "eu") == "data for eu"
        assert node.get(pipeline, "label", "us") == "data for us"
        assert not node.exists(pipeline, "label")

    def test_context_carries_the_run_the_asset_and_the_resources(self, sales: fs.Pipeline) -> None:
        seen: list[fs.Context] = []
        pipeline = fs.Pipeline("ctx")

        @pipeline.asset
        def probe(ctx: fs.Context) -> str:
            seen.append(ctx)
            return ctx.run_id

        with fs.start(resources={"db": "connection"}) as node:
            run_id = node.run(pipeline, "probe", partition=7)
            assert node.status(pipeline, "probe", 7).run_id == run_id
        ctx = seen[0]
        assert (ctx.asset, ctx.partition, ctx.attempt, ctx.pipeline) == ("probe", 7, 1, "ctx")
        assert ctx.resources["db"] == "connection"
        assert callable(ctx.log.info)

    def test_cached_value_is_reused_and_force_runs_again(self, node: fs.Node) -> None:
        calls: list[str] = []
        pipeline = fs.Pipeline("cache")

        @pipeline.asset
        def upstream(ctx: fs.Context) -> int:
            calls.append("upstream")
            return 1

        @pipeline.asset
        def target(ctx: fs.Context, upstream: int) -> int:
            calls.append("target")
            return upstream + 1

        assert node.run(pipeline, "target") == 2
        assert node.run(pipeline, "target") == 2
        assert calls == ["upstream", "target"]
        assert node.run(pipeline, "target", force=True) == 2
        assert calls == ["upstream", "target", "target"]

    def test_with_deps_false_and_a_missing_dependency_raises(self, node: fs.Node, sales: fs.Pipeline) -> None:
        with pytest.raises(fs.DependencyNotReadyError) as caught:
            node.run(sales, "doubled", with_deps=False)
        assert caught.value.asset == "doubled"
        assert "numbers" in str(caught.value)
        assert not node.exists(sales, "doubled")

    def test_with_deps_false_runs_when_the_dependencies_are_there(
        self, node: fs.Node, sales: fs.Pipeline
    ) -> None:
        node.run(sales, "numbers")
        assert node.run(sales, "doubled", with_deps=False) == [2, 4, 6, 8, 10]

    def test_an_unknown_asset_raises_asset_not_found(self, node: fs.Node, sales: fs.Pipeline) -> None:
        with pytest.raises(fs.AssetNotFoundError, match="did you mean 'total'"):
            node.run(sales, "totl")


class TestFailures:
    def test_a_raising_asset_raises_materialization_error_with_the_cause(self, node: fs.Node) -> None:
        boom = ValueError("intentional failure")
        pipeline = fs.Pipeline("failing")

        @pipeline.asset
        def broken(ctx: fs.Context) -> int:
            raise boom

        with pytest.raises(fs.MaterializationError) as caught:
            node.run(pipeline, "broken", partition="p1")
        error = caught.value
        assert (error.asset, error.partition, error.attempts) == ("broken", "p1", 1)
        assert error.__cause__ is boom
        status = node.status(pipeline, "broken", "p1")
        assert status.state == "failed"
        assert error.run_id is not None
        assert status.run_id == error.run_id
        assert status.error is not None
        assert "intentional failure" in status.error
        assert not node.exists(pipeline, "broken", "p1")

    def test_a_failed_dependency_stops_its_dependants(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("failing-upstream")

        @pipeline.asset
        def source(ctx: fs.Context) -> int:
            raise RuntimeError("no data")

        @pipeline.asset
        def report(ctx: fs.Context, source: int) -> int:
            return source

        with pytest.raises(fs.MaterializationError) as caught:
            node.run(pipeline, "report")
        assert caught.value.asset == "source"
        assert node.status(pipeline, "report").state != "completed"

    @pytest.mark.parametrize(
        "exception",
        [SystemExit(3), KeyboardInterrupt(), GeneratorExit(), type("Custom", (BaseException,), {})()],
        ids=["SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException-subclass"],
    )
    @pytest.mark.timeout(20)
    def test_a_base_exception_fails_only_that_materialization(
        self, node: fs.Node, exception: BaseException
    ) -> None:
        pipeline = fs.Pipeline("contained")

        @pipeline.asset
        def escaping(ctx: fs.Context) -> int:
            raise exception

        @pipeline.asset
        def fine(ctx: fs.Context) -> int:
            return 42

        with pytest.raises(fs.MaterializationError) as caught:
            node.run(pipeline, "escaping", timeout=10)
        assert caught.value.__cause__ is exception
        assert node.status(pipeline, "escaping").state == "failed"
        restarts = [child.restarts for child in self.runners(node)]
        for _ in range(len(restarts) + 1):  # every runner, and then some, still works
            assert node.run(pipeline, "fine", force=True, timeout=10) == 42
        assert [child.restarts for child in self.runners(node)] == restarts
        assert node.is_alive()
        assert node.health().status == "ok"

    @staticmethod
    def runners(node: fs.Node) -> tuple[TreeNode, ...]:
        return next(child for child in node.tree().children if child.id == "runners").children

    @pytest.fixture
    def runner_fault(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the next runner to execute a task crash: a fault in the runner, not the asset."""
        original = RunnerActor._execute
        fault = threading.Event()
        fault.set()

        def faulty(self: RunnerActor, task: object) -> object:
            if fault.is_set():
                fault.clear()
                raise RuntimeError("injected runner fault")
            return original(self, task)  # type: ignore[arg-type]

        monkeypatch.setattr(RunnerActor, "_execute", faulty)

    @pytest.mark.timeout(20)
    @pytest.mark.usefixtures("runner_fault")
    def test_a_crashed_runner_fails_the_run_and_is_restarted(self, node: fs.Node, sales: fs.Pipeline) -> None:
        with pytest.raises(fs.MaterializationError) as caught:
            node.run(sales, "numbers", timeout=10)
        assert caught.value.asset == "numbers"
        assert isinstance(caught.value.__cause__, Exception)

        size = node.config.max_concurrency
        wait_for(
            lambda: (
                sum(1 for c in self.runners(node) if c.status == "running") == size
                and sum(c.restarts for c in self.runners(node)) >= 1
            ),
            message="runner restarted",
        )
        assert len(self.runners(node)) == size
        assert node.run(sales, "total", timeout=10) == 30

    @pytest.mark.timeout(20)
    @pytest.mark.usefixtures("runner_fault")
    def test_a_run_failed_by_a_runner_crash_is_recorded_as_failed(
        self, node: fs.Node, sales: fs.Pipeline
    ) -> None:
        with pytest.raises(fs.MaterializationError) as caught:
            node.run(sales, "numbers", timeout=10)
        status = node.status(sales, "numbers")
        assert (status.state, status.run_id) == ("failed", caught.value.run_id)
        assert status.error is not None

    @pytest.mark.timeout(20)
    def test_an_attempt_past_its_timeout_fails_with_timeout_error(self, node: fs.Node) -> None:
        release = threading.Event()
        pipeline = fs.Pipeline("slow")

        @pipeline.asset(timeout=0.2)
        def stuck(ctx: fs.Context) -> int:
            release.wait(10)
            return 1

        try:
            with pytest.raises(fs.MaterializationError) as caught:
                node.run(pipeline, "stuck", timeout=10)
            assert isinstance(caught.value.__cause__, TimeoutError)
            assert node.status(pipeline, "stuck").state == "failed"
        finally:
            release.set()
        size = node.config.max_concurrency
        wait_for(lambda: len(self.runners(node)) == size, message="the abandoned runner retired")
        assert not node.exists(pipeline, "stuck")
        assert node.status(pipeline, "stuck").state == "failed"


class TestConcurrency:
    @pytest.mark.timeout(20)
    def test_independent_branches_run_concurrently(self, node: fs.Node) -> None:
        barrier = threading.Barrier(2, timeout=5)
        pipeline = fs.Pipeline("branches")

        @pipeline.asset
        def left(ctx: fs.Context) -> str:
            barrier.wait()
            return "L"

        @pipeline.asset
        def right(ctx: fs.Context) -> str:
            barrier.wait()
            return "R"

        @pipeline.asset
        def joined(ctx: fs.Context, left: str, right: str) -> str:
            return left + right

        assert node.run(pipeline, "joined", timeout=10) == "LR"

    @pytest.mark.timeout(20)
    def test_a_diamond_runs_the_shared_dependency_once(self, node: fs.Node) -> None:
        calls: list[str] = []
        pipeline = fs.Pipeline("diamond")

        @pipeline.asset
        def raw(ctx: fs.Context) -> int:
            calls.append("raw")
            return 1

        @pipeline.asset
        def left(ctx: fs.Context, raw: int) -> int:
            return raw + 1

        @pipeline.asset
        def right(ctx: fs.Context, raw: int) -> int:
            return raw + 2

        @pipeline.asset
        def joined(ctx: fs.Context, left: int, right: int) -> int:
            return left * right

        assert node.run(pipeline, "joined", timeout=10) == 6
        assert calls == ["raw"]


class TestReading:
    def test_get_of_a_value_never_stored_raises_not_materialized(
        self, node: fs.Node, sales: fs.Pipeline
    ) -> None:
        with pytest.raises(fs.NotMaterializedError):
            node.get(sales, "total")

    def test_exists_is_false_before_and_true_after_a_run(self, node: fs.Node, sales: fs.Pipeline) -> None:
        assert not node.exists(sales, "total")
        node.run(sales, "total")
        assert node.exists(sales, "total")

    def test_status_is_not_found_before_any_run(self, node: fs.Node, sales: fs.Pipeline) -> None:
        status = node.status(sales, "total")
        assert isinstance(status, fs.Status)
        assert (status.state, status.run_id, status.attempts) == ("not_found", None, 0)

    def test_status_is_completed_after_a_run(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "total", partition="2024")
        status = node.status(sales, "total", "2024")
        assert (status.state, status.partition, status.attempts, status.error) == (
            "completed",
            "2024",
            1,
            None,
        )
        assert isinstance(status.started_at, datetime)
        assert isinstance(status.finished_at, datetime)
        assert status.started_at <= status.finished_at
        assert node.status(sales, "numbers", "2024").run_id == status.run_id
        assert node.status(sales, "total").state == "not_found"

    def test_invalidate_removes_one_materialization(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "total")
        assert node.invalidate(sales, "doubled") == 1
        assert not node.exists(sales, "doubled")
        assert node.status(sales, "doubled").state == "not_found"
        assert node.exists(sales, "numbers")
        assert node.exists(sales, "total")

    def test_invalidate_with_cascade_removes_every_downstream_materialization(
        self, node: fs.Node, sales: fs.Pipeline
    ) -> None:
        node.run(sales, "total", partition="a")
        node.run(sales, "total", partition="b")
        assert node.invalidate(sales, "numbers", "a", cascade=True) == 3
        for name in ("numbers", "doubled", "total"):
            assert not node.exists(sales, name, "a")
            assert node.exists(sales, name, "b")
        assert node.invalidate(sales, "numbers", "a", cascade=True) == 0

    def test_a_run_after_invalidate_materializes_again(self, node: fs.Node) -> None:
        calls: list[int] = []
        pipeline = fs.Pipeline("again")

        @pipeline.asset
        def counted(ctx: fs.Context) -> int:
            calls.append(1)
            return len(calls)

        assert node.run(pipeline, "counted") == 1
        node.invalidate(pipeline, "counted")
        assert node.run(pipeline, "counted") == 2


def flaky(pipeline: fs.Pipeline, failures: int, attempts: list[int], **options: object) -> None:
    """Define ``flaky``: fails ``failures`` times, then returns "ok"; records ctx.attempt."""

    @pipeline.asset(**options)
    def flaky(ctx: fs.Context) -> str:
        attempts.append(ctx.attempt)
        if len(attempts) <= failures:
            raise RuntimeError(f"failure {len(attempts)}")
        return "ok"


class TestRetry:
    """[3] retries are per asset, with a node default, following the policy's backoff."""

    @pytest.mark.timeout(20)
    def test_an_asset_retry_runs_it_again_until_it_succeeds(self, node: fs.Node) -> None:
        attempts: list[int] = []
        pipeline = fs.Pipeline("retry")
        flaky(pipeline, 2, attempts, retry=fs.Retry(max_attempts=3, base_delay=0.01, backoff="constant"))

        assert node.run(pipeline, "flaky", timeout=10) == "ok"
        assert attempts == [1, 2, 3]
        status = node.status(pipeline, "flaky")
        assert (status.state, status.attempts) == ("completed", 3)

    @pytest.mark.timeout(20)
    def test_the_last_failure_is_reported_after_max_attempts(self, node: fs.Node) -> None:
        attempts: list[int] = []
        pipeline = fs.Pipeline("retry")
        flaky(pipeline, 5, attempts, retry=fs.Retry(max_attempts=3, base_delay=0.01, backoff="constant"))

        with pytest.raises(fs.MaterializationError) as caught:
            node.run(pipeline, "flaky", timeout=10)
        assert caught.value.attempts == 3
        assert str(caught.value.__cause__) == "failure 3"
        assert attempts == [1, 2, 3]
        status = node.status(pipeline, "flaky")
        assert (status.state, status.attempts) == ("failed", 3)

    @pytest.mark.timeout(20)
    def test_the_node_default_retry_applies_to_assets_without_their_own(self) -> None:
        attempts: list[int] = []
        pipeline = fs.Pipeline("node-retry")
        flaky(pipeline, 1, attempts)

        with fs.start(retry=fs.Retry(max_attempts=2, base_delay=0.01)) as node:
            assert node.run(pipeline, "flaky", timeout=10) == "ok"
            assert node.status(pipeline, "flaky").attempts == 2
        assert attempts == [1, 2]

    def test_without_a_retry_policy_an_asset_is_tried_once(self, node: fs.Node) -> None:
        attempts: list[int] = []
        pipeline = fs.Pipeline("no-retry")
        flaky(pipeline, 1, attempts)

        with pytest.raises(fs.MaterializationError):
            node.run(pipeline, "flaky")
        assert attempts == [1]

    @pytest.mark.timeout(20)
    def test_asset_retry_overrides_the_node_default(self) -> None:
        attempts: list[int] = []
        pipeline = fs.Pipeline("override")
        flaky(pipeline, 5, attempts, retry=fs.Retry(max_attempts=2, base_delay=0.01))

        node = fs.start(retry=fs.Retry(max_attempts=4, base_delay=0.01))
        with node, pytest.raises(fs.MaterializationError):
            node.run(pipeline, "flaky", timeout=10)
        assert attempts == [1, 2]

    @pytest.mark.timeout(20)
    def test_events_record_each_retry_with_the_policys_delays(self, node: fs.Node) -> None:
        attempts: list[int] = []
        policy = fs.Retry(max_attempts=3, base_delay=0.01, backoff="exponential")
        pipeline = fs.Pipeline("retry-events")
        flaky(pipeline, 5, attempts, retry=policy)
        events: list[fs.events.Event] = []

        with node.events.subscribe(events.append), pytest.raises(fs.MaterializationError):
            node.run(pipeline, "flaky", timeout=10)
        retries = [e for e in events if isinstance(e, RetryScheduled)]
        assert [(e.asset, e.attempt) for e in retries] == [("flaky", 1), ("flaky", 2)]
        assert [e.delay for e in retries] == pytest.approx(list(policy.delays()))
        assert [e.error for e in retries] == ["RuntimeError: failure 1", "RuntimeError: failure 2"]
        failed = [e for e in events if isinstance(e, MaterializationFailed)]
        assert [(e.asset, e.attempts) for e in failed] == [("flaky", 3)]


class TestNodes:
    def test_two_nodes_in_one_process_share_nothing(self, sales: fs.Pipeline) -> None:
        with fs.start() as first, fs.start() as second:
            assert first.run(sales, "total") == 30
            assert first.exists(sales, "total")
            assert not second.exists(sales, "total")
            assert second.status(sales, "total").state == "not_found"
            with pytest.raises(fs.NotMaterializedError):
                second.get(sales, "total")

    @pytest.fixture
    def default_node_stopped(self) -> Iterator[Callable[[], fs.Node]]:
        """Stop the default node after the test, so that its threads do not leak."""
        yield fs.default_node
        default = flowstone._default._default
        if default is not None:
            default.stop()

    def test_module_level_run_and_get_use_the_default_node(
        self, default_node_stopped: Callable[[], fs.Node], sales: fs.Pipeline
    ) -> None:
        assert fs.run(sales, "total") == 30
        assert fs.get(sales, "doubled") == [2, 4, 6, 8, 10]
        assert fs.exists(sales, "total")
        assert fs.status(sales, "total").state == "completed"
        node = default_node_stopped()
        assert node.exists(sales, "total")
        assert fs.invalidate(sales, "total") == 1
        assert not fs.exists(sales, "total")


def gated_chain(name: str = "shared", *, fail: bool = False) -> tuple[fs.Pipeline, list[str]]:
    """raw (waits at the node's gate) → cleaned → report, recording each call."""
    calls: list[str] = []
    pipeline = fs.Pipeline(name)

    @pipeline.asset
    def raw(ctx: fs.Context) -> list[int]:
        calls.append("raw")
        ctx.resources["gate"].passes()
        if fail:
            raise RuntimeError("raw is broken")
        return [1, 2, 3]

    @pipeline.asset
    def cleaned(ctx: fs.Context, raw: list[int]) -> list[int]:
        calls.append("cleaned")
        return [n * 10 for n in raw]

    @pipeline.asset
    def report(ctx: fs.Context, cleaned: list[int]) -> dict[str, object]:
        calls.append("report")
        return {"total": sum(cleaned), "partition": ctx.partition}

    return pipeline, calls


class Callers:
    """``node.run`` calls in threads, each result (or exception) kept in call order."""

    def __init__(self, node: fs.Node) -> None:
        self._node = node
        self._threads: list[threading.Thread] = []
        self.results: list[object] = []
        self._lock = threading.Lock()

    def start(self, pipeline: fs.Pipeline, asset: str, **options: object) -> int:
        index = len(self._threads)
        with self._lock:
            self.results.append(None)

        def call() -> None:
            try:
                result: object = self._node.run(pipeline, asset, **options)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - kept for the test to compare
                result = exc
            with self._lock:
                self.results[index] = result

        thread = threading.Thread(target=call, name=f"caller-{index}")
        self._threads.append(thread)
        thread.start()
        return index

    def join(self) -> list[object]:
        for thread in self._threads:
            thread.join(10)
        return self.results


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def gated_node(request: pytest.FixtureRequest) -> Iterator[tuple[fs.Node, Gate]]:
    """A node on each kind of store whose assets may wait at its gate (opened at the end)."""
    url: str | None = None
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_database")
    gate = Gate()
    with fs.start(database_url=url, max_concurrency=4, resources={"gate": gate}) as node:
        try:
            yield node, gate
        finally:
            gate.open()


def joined(logs: list[dict[str, object]]) -> int:
    return sum(1 for entry in logs if entry["event"] == "run.joined")


class TestConcurrentCalls:
    """Issue 12 item 9: concurrent runs of one (pipeline, asset, partition) share one materialization."""

    @pytest.mark.timeout(30)
    def test_concurrent_calls_of_one_asset_share_one_materialization(
        self, gated_node: tuple[fs.Node, Gate]
    ) -> None:
        node, gate = gated_node
        pipeline, calls = gated_chain()
        callers = Callers(node)
        with capture_logs() as logs:
            callers.start(pipeline, "report", partition="eu")
            gate.wait_entered(1)
            for _ in range(3):
                callers.start(pipeline, "report", partition="eu")
            wait_for(lambda: joined(logs) == 3, timeout=10, message="the later callers joined the run")
            gate.open()
            results = callers.join()
        assert results == [{"total": 60, "partition": "eu"}] * 4
        assert calls == ["raw", "cleaned", "report"]
        started = [e for e in node.audit(100) if e.event_type == "run.started"]
        assert len(started) == 1
        assert node.status(pipeline, "report", "eu").state == "completed"

    @pytest.mark.timeout(30)
    def test_a_caller_that_joined_receives_the_first_callers_failure(
        self, gated_node: tuple[fs.Node, Gate]
    ) -> None:
        node, gate = gated_node
        pipeline, calls = gated_chain(fail=True)
        callers = Callers(node)
        with capture_logs() as logs:
            callers.start(pipeline, "report")
            gate.wait_entered(1)
            callers.start(pipeline, "report")
            wait_for(lambda: joined(logs) == 1, timeout=10, message="the later caller joined the run")
            gate.open()
            first, second = callers.join()
        assert isinstance(first, fs.MaterializationError)
        assert isinstance(second, fs.MaterializationError)
        assert (second.asset, second.run_id) == ("raw", first.run_id)
        assert calls == ["raw"]

    @pytest.mark.timeout(30)
    def test_force_runs_its_own_materialization_beside_one_in_flight(
        self, gated_node: tuple[fs.Node, Gate]
    ) -> None:
        node, gate = gated_node
        pipeline, calls = gated_chain()
        callers = Callers(node)
        callers.start(pipeline, "raw", force=True)
        callers.start(pipeline, "raw", force=True)
        gate.wait_entered(2)  # both compute: neither joined the other
        gate.open()
        assert callers.join() == [[1, 2, 3], [1, 2, 3]]
        assert calls == ["raw", "raw"]
        assert node.status(pipeline, "raw").state == "completed"
        assert node.run(pipeline, "raw") == [1, 2, 3]

    @pytest.mark.timeout(30)
    def test_runs_of_two_targets_with_a_shared_upstream_asset_both_succeed(
        self, gated_node: tuple[fs.Node, Gate]
    ) -> None:
        node, gate = gated_node
        pipeline, calls = gated_chain()
        callers = Callers(node)
        callers.start(pipeline, "report", partition=1)
        gate.wait_entered(1)
        callers.start(pipeline, "cleaned", partition=1)  # raw is not done yet: this run's too
        gate.wait_entered(2)
        gate.open()
        assert callers.join() == [{"total": 60, "partition": 1}, [10, 20, 30]]
        assert sorted(calls) == ["cleaned", "cleaned", "raw", "raw", "report"]
        assert node.status(pipeline, "report", 1).state == "completed"

    @pytest.mark.timeout(30)
    def test_calls_for_different_partitions_run_separately(self, gated_node: tuple[fs.Node, Gate]) -> None:
        node, gate = gated_node
        pipeline, _ = gated_chain()
        callers = Callers(node)
        callers.start(pipeline, "report", partition="eu")
        callers.start(pipeline, "report", partition="us")
        gate.wait_entered(2)
        gate.open()
        assert callers.join() == [{"total": 60, "partition": "eu"}, {"total": 60, "partition": "us"}]

    @pytest.mark.timeout(30)
    def test_a_redefined_pipeline_does_not_join_a_run_of_the_old_definition(
        self, gated_node: tuple[fs.Node, Gate]
    ) -> None:
        node, gate = gated_node
        old, _ = gated_chain("redefined")
        new = fs.Pipeline("redefined")

        @new.asset
        def raw(ctx: fs.Context) -> list[int]:
            ctx.resources["gate"].passes()
            return [7]

        callers = Callers(node)
        callers.start(old, "raw", force=True)
        gate.wait_entered(1)
        callers.start(new, "raw", force=True)
        gate.wait_entered(2)
        gate.open()
        assert callers.join() == [[1, 2, 3], [7]]

    @pytest.mark.timeout(30)
    def test_a_caller_that_joined_stops_waiting_at_its_timeout(
        self, gated_node: tuple[fs.Node, Gate]
    ) -> None:
        node, gate = gated_node
        pipeline, calls = gated_chain()
        callers = Callers(node)
        callers.start(pipeline, "raw", partition="eu")
        gate.wait_entered(1)
        with pytest.raises(fs.MaterializationError, match=r"did not finish within 0\.2 s") as raised:
            node.run(pipeline, "raw", partition="eu", timeout=0.2)
        assert isinstance(raised.value.__cause__, TimeoutError)
        assert (raised.value.asset, raised.value.partition) == ("raw", "eu")
        gate.open()
        assert callers.join() == [[1, 2, 3]]
        assert calls == ["raw"]


class FalsyStore(MemoryStore):
    """A store whose ``len()`` is 0, like an empty container: still the one to use."""

    def __len__(self) -> int:
        return 0


class TestComponents:
    """Issue 12 item 13: a component given to the node is used even when it is falsy."""

    def test_an_empty_memory_io_manager_given_to_the_node_is_the_one_it_uses(self) -> None:
        io = fs.io.Memory(max_entries=10)
        pipeline = fs.Pipeline("bounded")

        @pipeline.asset
        def value(ctx: fs.Context) -> int:
            return int(ctx.partition)

        assert len(io) == 0
        with fs.start(io=io) as node:
            assert node.backfill(pipeline, "value", range(100)).succeeded == 100
            assert len(io) == 10
            assert node.get(pipeline, "value", 99) == 99

    def test_an_empty_store_given_to_the_node_is_the_one_it_uses(self, sales: fs.Pipeline) -> None:
        store = FalsyStore()
        with fs.start(store=store) as node:
            node.run(sales, "total")
        record = store.latest("sales", "total", fs.partitions.serialize(None))
        assert record is not None
        assert record.status == "completed"

    def test_an_empty_lineage_store_given_to_the_node_is_the_one_it_uses(self, sales: fs.Pipeline) -> None:
        lineage = FalsyStore()
        with fs.start(lineage_store=lineage) as node:
            node.run(sales, "total")
            wait_for(
                lambda: lineage.upstream_of("sales", "total", fs.partitions.serialize(None)) != [],
                message="lineage recorded in the given store",
            )
        assert lineage.upstream_of("sales", "total", fs.partitions.serialize(None)) == [
            ("doubled", fs.partitions.serialize(None))
        ]
