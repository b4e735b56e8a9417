"""The registry actor: pipelines held by weak reference, collected when dropped [1][8]."""

from __future__ import annotations

import gc
import importlib
import sys
import threading
import tracemalloc
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import flowstone as fs
from flowstone._node.flights import Flight, Flights
from supervisors.testing import wait_for
from tests.flowstone.gate import Gate


def one_asset_pipeline(name: str, value: object = 1) -> fs.Pipeline:
    pipeline = fs.Pipeline(name)

    @pipeline.asset
    def value_asset(ctx: fs.Context) -> object:
        return value

    return pipeline


def run_and_drop(node: fs.Node, name: str, value: object = 1) -> None:
    """Define a pipeline, run it on ``node`` and let it go out of scope."""
    node.run(one_asset_pipeline(name, value), "value_asset")


def collected(node: fs.Node, name: str) -> bool:
    gc.collect()
    return name not in node.pipelines()


class TestListing:
    def test_pipelines_lists_the_pipelines_the_node_has_run(self, node: fs.Node, sales: fs.Pipeline) -> None:
        other = one_asset_pipeline("other")
        assert node.pipelines() == []
        node.run(sales, "numbers")
        node.run(other, "value_asset")
        assert sorted(node.pipelines()) == ["other", "sales"]

    def test_a_pipeline_is_listed_once_however_often_it_runs(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "numbers")
        node.run(sales, "total")
        node.backfill(sales, "numbers", ["a", "b"])
        assert node.pipelines() == ["sales"]

    def test_each_node_lists_only_the_pipelines_it_ran(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "numbers")
        with fs.start() as other:
            assert other.pipelines() == []


class TestRedefinition:
    """[1] a reloaded pipeline replaces the old definitions instead of piling up."""

    def test_redefining_a_pipeline_replaces_the_entry_and_reuses_its_values(
        self, node: fs.Node, make_sales: object
    ) -> None:
        first = make_sales("sales")  # type: ignore[operator]
        assert node.run(first, "total") == 30

        calls: list[str] = []
        second = fs.Pipeline("sales")

        @second.asset
        def numbers(ctx: fs.Context) -> list[int]:
            calls.append("numbers")
            return [0]

        @second.asset
        def doubled(ctx: fs.Context, numbers: list[int]) -> list[int]:
            calls.append("doubled")
            return [n * 2 for n in numbers]

        @second.asset
        def total(ctx: fs.Context, doubled: list[int]) -> int:
            calls.append("total")
            return sum(doubled)

        assert node.exists(second, "total")
        assert node.run(second, "total") == 30
        assert calls == []
        assert node.pipelines() == ["sales"]

        del first
        gc.collect()
        assert node.pipelines() == ["sales"]
        assert node.exists(second, "total")  # the newer pipeline keeps its values

    def test_redefined_assets_run_the_new_code(self, node: fs.Node, make_sales: object) -> None:
        first = make_sales("sales")  # type: ignore[operator]
        node.run(first, "numbers")
        second = one_asset_pipeline("sales", value="new")
        assert node.run(second, "value_asset") == "new"


class TestCollection:
    """[1][8] a dropped pipeline disappears and its in-memory values are released."""

    @pytest.mark.timeout(20)
    def test_a_pipeline_out_of_scope_disappears_from_pipelines(self, node: fs.Node) -> None:
        run_and_drop(node, "temporary")
        wait_for(lambda: collected(node, "temporary"), message="pipeline collected")
        assert node.pipelines() == []

    @pytest.mark.timeout(20)
    def test_the_values_of_a_collected_pipeline_are_released(self, node: fs.Node) -> None:
        run_and_drop(node, "temporary", value="old")
        wait_for(lambda: collected(node, "temporary"), message="pipeline collected")

        again = one_asset_pipeline("temporary", value="new")
        assert not node.exists(again, "value_asset")
        assert node.status(again, "value_asset").state == "not_found"
        assert node.run(again, "value_asset") == "new"

    @pytest.mark.timeout(20)
    def test_a_live_pipeline_is_not_collected(self, node: fs.Node, sales: fs.Pipeline) -> None:
        node.run(sales, "total")
        run_and_drop(node, "temporary")
        wait_for(lambda: collected(node, "temporary"), message="pipeline collected")
        assert node.pipelines() == ["sales"]
        assert node.get(sales, "total") == 30

    @pytest.mark.timeout(20)
    def test_a_failed_run_does_not_keep_the_pipeline_alive(self, node: fs.Node) -> None:
        def run_failing() -> None:
            pipeline = fs.Pipeline("failing")

            @pipeline.asset
            def broken(ctx: fs.Context) -> int:
                raise RuntimeError("boom")

            with pytest.raises(fs.MaterializationError):
                node.run(pipeline, "broken")

        run_failing()
        wait_for(lambda: collected(node, "failing"), message="pipeline collected")

    @pytest.mark.timeout(240)
    def test_ten_thousand_dynamic_pipelines_leave_memory_flat(self, node: fs.Node) -> None:
        def churn(start: int, count: int) -> None:
            for i in range(start, start + count):
                run_and_drop(node, f"dynamic-{i}", value=i)

        def settled() -> int:
            wait_for(lambda: gc.collect() == 0 and node.pipelines() == [], message="all pipelines collected")
            return tracemalloc.get_traced_memory()[0]

        tracemalloc.start()
        try:
            churn(0, 1_000)
            warm = settled()
            churn(1_000, 10_000)
            after = settled()
        finally:
            tracemalloc.stop()
        growth = after - warm
        assert growth < 2_000_000, f"memory grew by {growth:,} B over 10,000 dropped pipelines"


class TestSameName:
    """A collected pipeline releases nothing while a live pipeline of its name exists."""

    @pytest.mark.timeout(20)
    def test_a_collected_pipeline_leaves_the_run_in_flight_of_a_live_one_of_its_name(self) -> None:
        gate = Gate()
        with fs.start(max_concurrency=4, resources={"gate": gate}) as node:
            first = one_asset_pipeline("same", value=1)
            live = fs.Pipeline("same")

            @live.asset
            def value_asset(ctx: fs.Context) -> int:
                ctx.resources["gate"].passes()
                return 2

            results: list[object] = []
            running = threading.Thread(target=lambda: results.append(_outcome(node, live, force=True)))
            running.start()
            try:
                gate.wait_entered(1)
                node.backfill(first, "value_asset", [])  # registers it, runs nothing
                assert node.pipelines() == ["same"]
                ref = weakref.ref(first)
                del first
                gc.collect()
                assert ref() is None
                assert node.pipelines() == ["same"]  # the registry has handled the collection
            finally:
                gate.open()
                running.join(10)
            assert results == [2]
            assert node.get(live, "value_asset") == 2
            assert node.status(live, "value_asset").state == "completed"


def _outcome(node: fs.Node, pipeline: fs.Pipeline, **options: Any) -> object:
    """The run's value, or the exception it raised (for runs in other threads)."""
    try:
        return node.run(pipeline, "value_asset", **options)
    except Exception as exc:  # noqa: BLE001 - handed to the test, which compares it
        return exc


MODULE = """\
import flowstone as fs

pipeline = fs.Pipeline({name!r})


@pipeline.asset
def value(ctx):
    gate = ctx.resources.get("gate")
    if gate is not None:
        gate.passes()
    return {value!r}
"""


class Reloadable:
    """A module on disk that the test rewrites and reloads, as an editor and a dev server do."""

    def __init__(self, directory: Path) -> None:
        self.name = f"reloadme_{uuid.uuid4().hex[:8]}"
        self._path = directory / f"{self.name}.py"
        self._module: ModuleType | None = None

    @property
    def pipeline(self) -> fs.Pipeline:
        assert self._module is not None
        pipeline: fs.Pipeline = self._module.pipeline
        return pipeline

    def load(self, value: object) -> fs.Pipeline:
        """Write the module with ``value`` and import it (or reload it if already imported)."""
        self._path.write_text(MODULE.format(name=self.name, value=value))
        importlib.invalidate_caches()
        if self._module is None:
            self._module = importlib.import_module(self.name)
        else:
            self._module = importlib.reload(self._module)
        return self.pipeline


@pytest.fixture
def reloadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Reloadable]:
    monkeypatch.syspath_prepend(str(tmp_path))
    # A rewrite within one second keeps the file's mtime: a cached .pyc would be stale.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    module = Reloadable(tmp_path)
    yield module
    sys.modules.pop(module.name, None)


@pytest.fixture(params=["memory", "sqlite"])
def reload_url(request: pytest.FixtureRequest) -> str | None:
    """The store of a reload test: in memory, or a SQLite file."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("sqlite_url")
    return url


class TestReload:
    """[1] issue 12 §1: a run of a reloaded pipeline never fails while the old one is collected."""

    @pytest.mark.timeout(30)
    def test_a_reloaded_module_runs_its_new_code_with_and_without_force(
        self, reloadable: Reloadable, reload_url: str | None
    ) -> None:
        with fs.start(database_url=reload_url, max_concurrency=4) as node:
            assert node.run(reloadable.load(1), "value") == 1
            old = weakref.ref(reloadable.pipeline)
            assert node.run(reloadable.load(2), "value", force=True) == 2
            assert node.run(reloadable.pipeline, "value") == 2
            gc.collect()
            assert old() is None
            assert node.pipelines() == [reloadable.name]
            assert node.get(reloadable.pipeline, "value") == 2

    @pytest.mark.timeout(30)
    def test_a_run_of_the_reloaded_pipeline_survives_the_old_one_collected_as_it_starts(
        self, reloadable: Reloadable, reload_url: str | None
    ) -> None:
        with fs.start(database_url=reload_url, max_concurrency=4) as node:
            previous = reloadable.load(1)
            assert node.run(previous, "value") == 1
            old = weakref.ref(previous)
            pipeline = reloadable.load(2)
            del previous  # collected now: the registry hears of it as the run below starts
            assert old() is None
            assert node.run(pipeline, "value", force=True) == 2
            assert node.run(pipeline, "value") == 2
            assert node.status(pipeline, "value").state == "completed"

    @pytest.mark.timeout(30)
    def test_a_run_of_the_reloaded_pipeline_survives_the_old_one_collected_while_it_runs(
        self, reloadable: Reloadable, reload_url: str | None
    ) -> None:
        gate = Gate()
        with fs.start(database_url=reload_url, max_concurrency=4, resources={"gate": gate}) as node:
            gate.open()
            previous = reloadable.load(1)
            assert node.run(previous, "value") == 1
            gate.close()
            old = weakref.ref(previous)
            pipeline = reloadable.load(2)
            results: list[object] = []
            running = _start_forced_run(node, pipeline, results)
            gate.wait_entered(2)
            del previous
            gc.collect()
            assert old() is None
            assert node.pipelines() == [reloadable.name]  # the registry has handled the collection
            gate.open()
            running.join(10)
            assert results == [2]
            assert node.run(pipeline, "value") == 2

    @pytest.mark.timeout(600)
    @pytest.mark.parametrize("cycles", [20, pytest.param(1_000, marks=pytest.mark.slow)])
    def test_reload_cycles_with_a_run_in_flight_at_each_collection_all_succeed_and_leave_memory_flat(
        self, reloadable: Reloadable, reload_url: str | None, cycles: int
    ) -> None:
        gate = Gate(opened=True)
        with fs.start(database_url=reload_url, max_concurrency=4, resources={"gate": gate}) as node:
            assert node.run(reloadable.load(-1), "value") == -1
            # Long enough for the node's periodic work (wait ticks, sweeps, leases) to have
            # compiled its statements into SQLAlchemy's bounded cache before measuring.
            warm = max(2, cycles // 4)
            _reload_cycles(node, reloadable, gate, range(warm))
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                _reload_cycles(node, reloadable, gate, range(warm, cycles))
                gc.collect()
                after = tracemalloc.get_traced_memory()[0]
            finally:
                tracemalloc.stop()
            assert node.pipelines() == [reloadable.name]
        growth = after - before
        assert growth < 200_000, f"memory grew by {growth:,} B over {cycles - warm} reload cycles"


def _run_value(node: fs.Node, pipeline: fs.Pipeline, **options: Any) -> object:
    try:
        return node.run(pipeline, "value", **options)
    except Exception as exc:  # noqa: BLE001 - handed to the test, which compares it
        return exc


def _start_forced_run(node: fs.Node, pipeline: fs.Pipeline, results: list[object]) -> threading.Thread:
    """A ``force=True`` run in a thread of its own; its value (or error) goes to ``results``."""
    thread = threading.Thread(target=lambda: results.append(_run_value(node, pipeline, force=True)))
    thread.start()
    return thread


def _reload_cycles(node: fs.Node, reloadable: Reloadable, gate: Gate, cycles: range) -> None:
    """Reload the module once per cycle and run the new pipeline while the old one is collected.

    Even cycles drop the old pipeline just before the run starts (its collection reaches
    the registry as the run begins); odd ones drop it while the run waits at the gate.
    """
    for i in cycles:
        previous = reloadable.pipeline
        old = weakref.ref(previous)
        pipeline = reloadable.load(i)
        if i % 2 == 0:
            del previous
            result = _run_value(node, pipeline, force=True)
        else:
            results: list[object] = []
            gate.close()
            entered = gate.entered
            running = _start_forced_run(node, pipeline, results)
            gate.wait_entered(entered + 1)
            del previous
            node.pipelines()  # the registry has handled the collection
            gate.open()
            running.join(10)
            result = results[0] if results else "no result"
        assert result == i, f"cycle {i}: {result!r}"
        if old() is not None:
            gc.collect()
        assert old() is None, f"cycle {i}: the old pipeline was not collected"
        del pipeline


class TestFlights:
    """The registry's table of runs in flight (a pure core: no actor, no thread)."""

    KEY = ("p", 1, "asset", "null")

    def test_the_first_caller_leads_and_a_later_one_joins_its_flight(self) -> None:
        flights = Flights()
        first = flights.join(self.KEY, force=False)
        second = flights.join(self.KEY, force=False)
        assert (first.leads, second.leads) == (True, False)
        assert second.flight is first.flight

    def test_a_forced_call_leads_a_run_of_its_own_and_leaves_the_flight_to_join(self) -> None:
        flights = Flights()
        first = flights.join(self.KEY, force=False)
        forced = flights.join(self.KEY, force=True)
        later = flights.join(self.KEY, force=False)
        assert forced.leads
        assert forced.flight is not first.flight
        assert later.flight is first.flight

    def test_a_landed_flight_is_forgotten_but_a_stale_report_changes_nothing(self) -> None:
        flights = Flights()
        first = flights.join(self.KEY, force=False).flight
        flights.landed(self.KEY, first.run_id)
        assert len(flights) == 0
        second = flights.join(self.KEY, force=False).flight
        flights.landed(self.KEY, first.run_id)  # late: the newer flight stays
        assert flights.join(self.KEY, force=False).flight is second

    def test_a_joined_caller_gets_the_value_or_the_error_the_leader_set(self) -> None:
        landed, failed = Flight(self.KEY, "r1"), Flight(self.KEY, "r2")
        landed.land({"n": 1})
        failed.fail(RuntimeError("boom"))
        assert landed.wait(None, None) == {"n": 1}
        with pytest.raises(RuntimeError, match="boom"):
            failed.wait(None, None)
