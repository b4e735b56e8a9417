"""Continuations: a runner goes on to the asset its success alone made ready, and a runner
given several ready tasks of a run does them one after the other (flowstone/_execution/chains.py)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

import flowstone as fs
from flowstone._execution.chains import LIMIT


def _chain(
    pipeline: fs.Pipeline, n: int, body: Callable[[int, fs.Context, int], int], first: str | None = None
) -> str:
    """``a0 → … → a{n-1}`` (``a0`` after ``first`` if given); ``body(i, ctx, dep)`` is asset ``i``."""
    for i in range(n):
        deps = [f"a{i - 1}"] if i else ([first] if first else [])

        def fn(ctx: fs.Context, i: int = i, **values: Any) -> int:
            return body(i, ctx, sum(values.values()))

        fn.__name__ = fn.__qualname__ = f"a{i}"
        pipeline.asset(depends_on=deps)(fn)
    return f"a{n - 1}"


class TestChain:
    def test_a_chain_runs_on_one_runner_each_asset_once_in_order(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("chain")
        calls: list[tuple[int, str]] = []

        def body(i: int, ctx: fs.Context, dep: int) -> int:
            calls.append((i, threading.current_thread().name))
            return dep + 1

        target = _chain(pipeline, LIMIT + 8, body)
        assert node.run(pipeline, target) == LIMIT + 8
        assert [i for i, _ in calls] == list(range(LIMIT + 8))
        assert len({thread for _, thread in calls[:LIMIT]}) == 1  # one message: no hand-off between

    def test_values_and_lineage_pass_along_a_chain_in_every_store(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("chain_values")

        def body(i: int, ctx: fs.Context, dep: int) -> int:
            return dep * 2 + i

        target = _chain(pipeline, 6, body)
        assert any_node.run(pipeline, target, partition="p") == 57  # 0, 1, 4, 11, 26, 57
        upstream = {ref.asset for ref in any_node.lineage.upstream(pipeline, target, "p")}
        assert upstream == {f"a{i}" for i in range(5)}
        assert all(any_node.status(pipeline, f"a{i}", "p").state == "completed" for i in range(6))
        assert any_node.run(pipeline, target, partition="p") == 57  # reused from the store

    def test_a_link_that_fails_once_is_retried_and_the_chain_goes_on(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("chain_retry")
        calls: Counter[int] = Counter()

        def body(i: int, ctx: fs.Context, dep: int) -> int:
            calls[i] += 1
            if i == 3 and ctx.attempt == 1:
                raise RuntimeError("once")
            return dep + 1

        for i in range(8):
            deps = [f"a{i - 1}"] if i else []
            retry = fs.Retry(max_attempts=2, base_delay=0.0) if i == 3 else None

            def fn(ctx: fs.Context, i: int = i, **values: Any) -> int:
                return body(i, ctx, sum(values.values()))

            fn.__name__ = fn.__qualname__ = f"a{i}"
            pipeline.asset(depends_on=deps, retry=retry)(fn)
        assert node.run(pipeline, "a7") == 8
        assert calls == Counter({i: 2 if i == 3 else 1 for i in range(8)})

    def test_a_link_that_fails_ends_the_run_and_nothing_after_it_runs(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("chain_fails")
        calls: Counter[int] = Counter()

        def body(i: int, ctx: fs.Context, dep: int) -> int:
            calls[i] += 1
            if i == 2:
                raise RuntimeError("broken link")
            return dep + 1

        target = _chain(pipeline, 6, body)
        with pytest.raises(fs.MaterializationError, match="broken link"):
            node.run(pipeline, target)
        assert calls == Counter({0: 1, 1: 1, 2: 1})
        assert node.status(pipeline, "a2").state == "failed"
        assert all(node.status(pipeline, f"a{i}").state != "completed" for i in range(2, 6))
        assert all(node.status(pipeline, f"a{i}").state == "completed" for i in range(2))

    def test_a_chain_starts_no_further_link_once_another_branch_failed_its_run(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("chain_fail_fast")
        started, release = threading.Event(), threading.Event()
        calls: Counter[int] = Counter()

        @pipeline.asset
        def root(ctx: fs.Context) -> int:
            return 0

        @pipeline.asset
        def broken(ctx: fs.Context, root: int) -> int:
            assert started.wait(10)
            raise RuntimeError("the other branch")

        def body(i: int, ctx: fs.Context, dep: int) -> int:
            calls[i] += 1
            if i == 0:
                started.set()
                assert release.wait(10)  # held until the run has failed
            return dep + 1

        _chain(pipeline, 4, body, first="root")

        @pipeline.asset
        def both(ctx: fs.Context, a3: int, broken: int) -> int:
            return a3 + broken

        with pytest.raises(fs.MaterializationError, match="the other branch"):
            node.run(pipeline, "both")
        release.set()
        node.stop()  # joins the runners: a0's has finished
        assert calls == Counter({0: 1})


def _fan_out(pipeline: fs.Pipeline, n: int, middle: Callable[[fs.Context, int], int], **options: Any) -> None:
    """``root → m0 … m{n-1} → sink``; each middle asset is ``middle(ctx, root)`` with ``options``."""

    @pipeline.asset
    def root(ctx: fs.Context) -> int:
        return 1

    names = [f"m{i}" for i in range(n)]
    for name in names:

        def fn(ctx: fs.Context, root: int) -> int:
            return middle(ctx, root)

        fn.__name__ = fn.__qualname__ = name
        pipeline.asset(**options)(fn)

    def sink(ctx: fs.Context, **values: int) -> int:
        return sum(values.values())

    pipeline.asset(depends_on=names)(sink)


class TestBatch:
    def test_every_task_of_a_fan_out_runs_once(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("fan")
        calls: Counter[str] = Counter()

        def middle(ctx: fs.Context, root: int) -> int:
            calls[ctx.asset] += 1
            return root

        _fan_out(pipeline, 120, middle)
        assert any_node.run(pipeline, "sink") == 120
        assert calls == Counter({f"m{i}": 1 for i in range(120)})

    def test_a_task_of_a_fan_out_that_fails_once_is_retried_and_the_others_run(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("fan_retry")
        calls: Counter[str] = Counter()

        def middle(ctx: fs.Context, root: int) -> int:
            calls[ctx.asset] += 1
            if ctx.asset == "m40" and ctx.attempt == 1:
                raise RuntimeError("once")
            return root

        _fan_out(pipeline, 120, middle, retry=fs.Retry(max_attempts=2, base_delay=0.0))
        assert node.run(pipeline, "sink") == 120
        assert calls == Counter({f"m{i}": 2 if i == 40 else 1 for i in range(120)})
