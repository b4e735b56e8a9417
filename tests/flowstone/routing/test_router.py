"""Issue 16, routing: what a router may return, what happens on each value and error, and
that a run takes each decision once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import flowstone as fs
from flowstone.events import AssetSkipped, RouteDecided


def routed(
    choice: Any = "fast",
    *,
    default: str | None = None,
    on_error: Any = "fail",
    calls: list[str] | None = None,
    retry: fs.Retry | None = None,
) -> fs.Pipeline:
    """orders → choose (router: fast | slow) → fast / slow → report (both optional).

    ``choice`` is what the router returns, or an exception it raises, or a callable of
    the partition.
    """
    p = fs.Pipeline("routed")
    seen = calls if calls is not None else []

    @p.asset
    def orders(ctx: fs.Context) -> list[int]:
        return [1, 2, 3]

    @p.router(branches=("fast", "slow"), default=default, on_error=on_error, retry=retry)
    def choose(ctx: fs.Context, orders: list[int]) -> Any:
        seen.append("choose")
        value = choice(ctx.partition) if callable(choice) else choice
        if isinstance(value, BaseException):
            raise value
        return value

    @p.asset(routed_from="choose")
    def fast(ctx: fs.Context, orders: list[int]) -> str:
        seen.append("fast")
        return f"fast:{len(orders)}"

    @p.asset(routed_from="choose")
    def slow(ctx: fs.Context, orders: list[int]) -> str:
        seen.append("slow")
        return f"slow:{len(orders)}"

    @p.asset(optional=("fast", "slow"))
    def report(ctx: fs.Context, fast: str | None = None, slow: str | None = None) -> tuple[Any, Any]:
        seen.append("report")
        return (fast, slow)

    return p


@pytest.fixture
def node() -> Iterator[fs.Node]:
    with fs.start(max_concurrency=2) as started:
        yield started


class TestReturnValues:
    def test_a_branch_name_runs_that_branch_and_skips_the_other(self, node: fs.Node) -> None:
        calls: list[str] = []
        p = routed("fast", calls=calls)
        assert node.run(p, "report") == ("fast:3", None)
        assert "slow" not in calls
        assert node.status(p, "fast").state == "completed"
        assert node.status(p, "slow").state == "skipped"
        assert not node.exists(p, "slow")

    def test_the_other_branch_name_runs_the_other_branch(self, node: fs.Node) -> None:
        p = routed("slow")
        assert node.run(p, "report") == (None, "slow:3")
        assert node.status(p, "fast").state == "skipped"

    def test_the_routers_value_is_the_branch_it_took(self, node: fs.Node) -> None:
        p = routed("slow")
        assert node.run(p, "choose") == "slow"
        assert node.get(p, "choose") == "slow"

    def test_none_takes_the_default_branch(self, node: fs.Node) -> None:
        p = routed(None, default="slow")
        assert node.run(p, "report") == (None, "slow:3")
        assert node.get(p, "choose") == "slow"

    def test_none_without_a_default_skips_every_branch(self, node: fs.Node) -> None:
        calls: list[str] = []
        p = routed(None, calls=calls)
        assert node.run(p, "report") == (None, None)
        assert node.run(p, "choose") is None
        assert node.status(p, "fast").state == "skipped"
        assert node.status(p, "slow").state == "skipped"
        assert calls == ["choose", "report"]

    @pytest.mark.parametrize("bad", ["medium", 3, ["fast"], b"fast", ""])
    def test_anything_else_is_a_route_error_naming_router_value_and_branches(
        self, node: fs.Node, bad: Any
    ) -> None:
        calls: list[str] = []
        p = routed(bad, calls=calls, retry=fs.Retry(max_attempts=3, base_delay=0.001))
        with pytest.raises(fs.MaterializationError) as raised:
            node.run(p, "report")
        cause = raised.value.__cause__
        assert isinstance(cause, fs.RouteError)
        assert cause.asset == "choose"
        assert cause.value == bad
        assert cause.branches == ("fast", "slow")
        assert "'choose'" in str(cause)
        assert repr(bad) in str(cause)
        assert "('fast', 'slow')" in str(cause)
        assert calls == ["choose"], "a route error is the router's bug: never retried"
        assert node.status(p, "choose").state == "failed"
        assert node.status(p, "fast").state != "skipped"


class TestErrors:
    def test_on_error_fail_fails_the_router_and_its_run(self, node: fs.Node) -> None:
        calls: list[str] = []
        p = routed(RuntimeError("no input"), calls=calls)
        with pytest.raises(fs.MaterializationError, match="no input") as raised:
            node.run(p, "report")
        assert raised.value.asset == "choose"
        assert calls == ["choose"]
        assert node.status(p, "choose").state == "failed"
        assert not node.exists(p, "report")

    def test_on_error_fail_retries_by_the_routers_policy(self, node: fs.Node) -> None:
        tries: list[int] = []

        def flaky(partition: Any) -> Any:
            tries.append(1)
            return RuntimeError("flaky") if len(tries) == 1 else "slow"

        p = routed(flaky, retry=fs.Retry(max_attempts=2, base_delay=0.001))
        assert node.run(p, "report") == (None, "slow:3")
        assert len(tries) == 2

    def test_a_fallback_takes_its_branch_and_records_the_error(self, node: fs.Node) -> None:
        decided: list[RouteDecided] = []
        p = routed(RuntimeError("model down"), on_error=fs.Fallback("slow"))
        with node.events.subscribe(lambda e: decided.append(e) if isinstance(e, RouteDecided) else None):
            assert node.run(p, "report") == (None, "slow:3")
        assert node.get(p, "choose") == "slow"
        assert node.status(p, "choose").state == "completed"
        [event] = decided
        assert event.branch == "slow"
        assert event.fallback
        assert event.error == "RuntimeError: model down"

    def test_a_fallback_does_not_cover_a_route_error(self, node: fs.Node) -> None:
        p = routed("sideways", on_error=fs.Fallback("slow"))
        with pytest.raises(fs.MaterializationError) as raised:
            node.run(p, "report")
        assert isinstance(raised.value.__cause__, fs.RouteError)


class TestEvents:
    def test_a_decision_and_each_skip_are_announced(self, node: fs.Node) -> None:
        events: list[Any] = []
        p = routed("fast")
        with node.events.subscribe(events.append):
            node.run(p, "report")
        [decided] = [e for e in events if isinstance(e, RouteDecided)]
        assert (decided.asset, decided.branch, decided.fallback, decided.error) == (
            "choose",
            "fast",
            False,
            None,
        )
        skipped = [e for e in events if isinstance(e, AssetSkipped)]
        assert [(e.asset, e.run_id) for e in skipped] == [("slow", decided.run_id)]


class TestOneDecisionPerRun:
    def test_a_failed_run_run_again_takes_the_same_branch(self, node: fs.Node) -> None:
        """The router's value is stored: the next run reuses it, and never asks again,
        even if it would now choose otherwise."""
        state = {"choice": "fast", "fail": True}
        calls: list[str] = []
        p = fs.Pipeline("resumed")

        @p.router(branches=("fast", "slow"))
        def choose(ctx: fs.Context) -> str:
            calls.append("choose")
            return state["choice"]  # type: ignore[return-value]

        @p.asset(routed_from="choose")
        def fast(ctx: fs.Context) -> str:
            if state["fail"]:
                raise RuntimeError("fast failed once")
            return "fast"

        @p.asset(routed_from="choose")
        def slow(ctx: fs.Context) -> str:
            return "slow"

        @p.asset(optional=("fast", "slow"))
        def report(ctx: fs.Context, fast: str | None = None, slow: str | None = None) -> Any:
            return fast or slow

        with pytest.raises(fs.MaterializationError, match="fast failed once"):
            node.run(p, "report")
        state.update(choice="slow", fail=False)
        assert node.run(p, "report") == "fast"
        assert calls == ["choose"]

    def test_an_attempt_that_runs_the_router_again_takes_the_decision_of_its_run(self, node: fs.Node) -> None:
        """The router decided, then storing its value failed: its retry, in the same run,
        finds the decision and takes that branch without calling the function again."""
        calls: list[str] = []
        choices = iter(["fast", "slow"])

        class FailsOnce(fs.io.Memory):
            failed = False

            def store(self, key: Any, value: Any) -> None:
                if not FailsOnce.failed:
                    FailsOnce.failed = True
                    raise OSError("disk full")
                super().store(key, value)

        p = fs.Pipeline("retried")

        @p.router(branches=("fast", "slow"), io=FailsOnce(), retry=fs.Retry(max_attempts=2, base_delay=0.001))
        def choose(ctx: fs.Context) -> str:
            calls.append("choose")
            return next(choices)

        @p.asset(routed_from="choose")
        def fast(ctx: fs.Context) -> str:
            return "fast"

        @p.asset(routed_from="choose")
        def slow(ctx: fs.Context) -> str:
            return "slow"

        assert node.run(p, "choose") == "fast"
        assert calls == ["choose"]
        assert FailsOnce.failed

    def test_a_forced_router_decides_again_in_its_new_run(self, node: fs.Node) -> None:
        choices = iter(["fast", "slow"])
        p = routed(lambda partition: next(choices))
        assert node.run(p, "report") == ("fast:3", None)
        assert node.run(p, "choose", force=True) == "slow"
        assert node.run(p, "slow") == "slow:3"
        assert node.status(p, "slow").state == "completed"

    def test_partitions_are_decided_each_on_its_own(self, node: fs.Node) -> None:
        p = routed(lambda partition: "fast" if partition % 2 else "slow")
        assert node.run(p, "report", partition=1) == ("fast:3", None)
        assert node.run(p, "report", partition=2) == (None, "slow:3")
        assert node.status(p, "slow", 1).state == "skipped"
        assert node.status(p, "fast", 2).state == "skipped"
