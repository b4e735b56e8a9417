"""Issue 16: a skipped asset (not selected) skips what needs it, at any depth, unless it
is an ``optional`` dependency; skipped is a state of its own, on every kind of store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import flowstone as fs
from flowstone._store import MemoryStore
from flowstone.events import AssetSkipped


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def node(request: pytest.FixtureRequest) -> Iterator[fs.Node]:
    url: str | None = None
    if request.param != "memory":
        url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    with fs.start(database_url=url, max_concurrency=2) as started:
        yield started


def three_levels(choice: str, ran: list[str]) -> fs.Pipeline:
    """choose → fast → one → two → three, and choose → slow; ``tail`` takes three as optional."""
    p = fs.Pipeline("deep")

    @p.router(branches=("fast", "slow"))
    def choose(ctx: fs.Context) -> str:
        return choice

    @p.asset(routed_from="choose")
    def fast(ctx: fs.Context) -> int:
        ran.append("fast")
        return 1

    @p.asset(routed_from="choose")
    def slow(ctx: fs.Context) -> int:
        ran.append("slow")
        return 2

    @p.asset
    def one(ctx: fs.Context, fast: int) -> int:
        ran.append("one")
        return fast + 1

    @p.asset
    def two(ctx: fs.Context, one: int) -> int:
        ran.append("two")
        return one + 1

    @p.asset
    def three(ctx: fs.Context, two: int) -> int:
        ran.append("three")
        return two + 1

    @p.asset(optional=("three",))
    def tail(ctx: fs.Context, three: int | None, slow: int | None = None) -> Any:
        ran.append("tail")
        return ("tail", three)

    @p.asset(optional=("three", "slow"))
    def either(ctx: fs.Context, three: int | None, slow: int | None) -> Any:
        return (three, slow)

    return p


class TestPropagation:
    def test_a_skip_spreads_through_three_levels(self, node: fs.Node) -> None:
        ran: list[str] = []
        p = three_levels("slow", ran)
        assert node.run(p, "three") is fs.SKIPPED
        assert ran == []
        for asset in ("fast", "one", "two", "three"):
            status = node.status(p, asset)
            assert status.state == "skipped", asset
            assert status.error is None
            assert not node.exists(p, asset)

    def test_the_selected_branch_runs_through_three_levels(self, node: fs.Node) -> None:
        ran: list[str] = []
        p = three_levels("fast", ran)
        assert node.run(p, "three") == 4
        assert ran == ["fast", "one", "two", "three"]

    def test_an_optional_skipped_dependency_arrives_as_none(self, node: fs.Node) -> None:
        ran: list[str] = []
        p = three_levels("slow", ran)
        assert node.run(p, "either") == (None, 2)
        assert node.status(p, "either").state == "completed"
        assert node.status(p, "three").state == "skipped"

    def test_only_the_dependencies_listed_as_optional_are(self, node: fs.Node) -> None:
        """``tail`` takes ``three`` as optional but needs ``slow`` (a plain dependency)."""
        ran: list[str] = []
        p = three_levels("fast", ran)
        assert node.run(p, "tail") is fs.SKIPPED
        assert "tail" not in ran
        assert node.status(p, "slow").state == "skipped"
        assert node.status(p, "tail").state == "skipped"

    def test_a_skipped_asset_run_again_is_skipped_again_without_the_router(self, node: fs.Node) -> None:
        ran: list[str] = []
        p = three_levels("slow", ran)
        assert node.run(p, "either") == (None, 2)
        assert node.run(p, "fast") is fs.SKIPPED
        assert node.run(p, "two") is fs.SKIPPED
        assert ran == ["slow"]

    def test_a_skipped_target_ends_its_run_without_an_error(self, node: fs.Node) -> None:
        ran: list[str] = []
        p = three_levels("slow", ran)
        node.run(p, "three")
        status = node.status(p, "three")
        assert status.run_id is not None
        assert status.finished_at is not None
        entry = next(
            e for e in node.audit() if e.details.get("run_id") == status.run_id and "finish" in e.action
        )
        assert entry.event_type == "run.finished"

    def test_every_skip_is_announced_once(self, node: fs.Node) -> None:
        ran: list[str] = []
        p = three_levels("slow", ran)
        events: list[AssetSkipped] = []
        with node.events.subscribe(lambda e: events.append(e) if isinstance(e, AssetSkipped) else None):
            node.run(p, "either")
        assert sorted(e.asset for e in events) == ["fast", "one", "three", "two"]

    def test_an_asset_made_ready_by_a_stored_routers_skip_runs_once(self, node: fs.Node) -> None:
        """The router and ``slow`` are stored by an earlier run; the next run's plan has
        ``fast`` ruled out by the stored decision, which makes ``either`` ready: it is
        queued by that skip only, never a second time by the run's start."""
        ran: list[str] = []
        p = three_levels("slow", ran)
        calls: list[str] = []

        @p.asset(optional=("three",))
        def late(ctx: fs.Context, three: int | None, slow: int) -> Any:
            calls.append(ctx.run_id)
            return (three, slow)

        assert node.run(p, "slow") == 2
        for _ in range(5):
            calls.clear()
            assert node.run(p, "late", force=True) == (None, 2)
            assert len(calls) == 1, calls

    def test_lineage_leaves_out_the_skipped_dependencies(self, node: fs.Node) -> None:
        ran: list[str] = []
        p = three_levels("slow", ran)
        node.run(p, "either")
        upstream = {ref.asset for ref in node.lineage.upstream(p, "either", depth=1)}
        assert upstream == {"slow"}


class FailingSkips(MemoryStore):
    def skip(self, skip: Any) -> None:
        raise fs.StoreUnavailableError("the store is down")


def test_a_skip_the_store_cannot_record_fails_the_run_without_hanging() -> None:
    ran: list[str] = []
    p = three_levels("slow", ran)
    with fs.start(store=FailingSkips()) as node:
        with pytest.raises(fs.StoreUnavailableError, match="the store is down"):
            node.run(p, "either")
        assert "either" not in ran
