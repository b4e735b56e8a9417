"""Fixtures for the FlowStone tests: a node per test and the sales pipeline of issue 3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import flowstone as fs
from supervisors import TreeNode


def sales_pipeline(name: str = "sales") -> fs.Pipeline:
    """numbers [1..5] → doubled → total, the chain every FlowStone test suite starts with."""
    pipeline = fs.Pipeline(name)

    @pipeline.asset
    def numbers(ctx: fs.Context) -> list[int]:
        return [1, 2, 3, 4, 5]

    @pipeline.asset
    def doubled(ctx: fs.Context, numbers: list[int]) -> list[int]:
        return [n * 2 for n in numbers]

    @pipeline.asset(depends_on=["doubled"], description="Total")
    def total(ctx: fs.Context, doubled: list[int]) -> int:
        return sum(doubled)

    return pipeline


@pytest.fixture
def flowstone_node_options() -> dict[str, Any]:
    """The shipped plugin's nodes (``flowstone._testing.plugin``) get four runners here."""
    return {"max_concurrency": 4, "max_parallel": 4}


@pytest.fixture
def node(flowstone_node: fs.Node) -> fs.Node:
    """A fresh in-memory node with four runners, stopped after the test: the plugin's
    ``flowstone_node``, so the project's own tests use the fixture it ships."""
    return flowstone_node


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def any_node(request: pytest.FixtureRequest) -> Iterator[fs.Node]:
    """A node on each kind of store in turn (memory, SQLite, PostgreSQL), stopped after the test."""
    url = (
        None
        if request.param == "memory"
        else request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_database")
    )
    with fs.start(database_url=url) as started:
        yield started


@pytest.fixture
def sales() -> fs.Pipeline:
    return sales_pipeline()


@pytest.fixture
def make_sales() -> Callable[[str], fs.Pipeline]:
    """The factory behind ``sales``, for tests that need several pipelines."""
    return sales_pipeline


def runner_children(node: fs.Node) -> tuple[TreeNode, ...]:
    """The runners supervisor's children in a fresh snapshot of the node's tree."""
    runners = next(child for child in node.tree().children if child.id == "runners")
    return runners.children


@pytest.fixture
def runners_of() -> Callable[[fs.Node], tuple[TreeNode, ...]]:
    """``runners_of(node)``: the runner children in a fresh tree snapshot."""
    return runner_children
