"""``fs.start(testing="inline")``: ``node.submit`` runs the job at once, in the caller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import flowstone as fs

pipeline = fs.Pipeline("inline")
called: list[str] = []


@pipeline.asset
def numbers(ctx: fs.Context) -> list[int]:
    called.append(ctx.asset)
    return [1, 2, 3]


@pipeline.asset
def total(ctx: fs.Context, numbers: list[int]) -> int:
    return sum(numbers)


@pipeline.asset(partitions=["ok", "bad"], retry=fs.Retry(max_attempts=2, base_delay=0.0))
def fragile(ctx: fs.Context) -> str:
    if ctx.partition_str == "bad":
        raise ValueError("bad partition data")
    return "fine"


@pytest.fixture
def inline_node() -> Iterator[fs.Node]:
    with fs.start(testing="inline") as node:
        yield node


def test_submit_runs_the_job_before_it_returns(inline_node: fs.Node) -> None:
    handle = inline_node.submit(pipeline, total)
    assert inline_node.status(pipeline, "total").state == "completed"  # done before wait()
    assert handle.wait() == 6
    assert handle.status().state == "completed"
    assert handle.status().asset == "total"


def test_the_caller_waits_for_the_job_on_a_node_without_a_database(inline_node: fs.Node) -> None:
    called.clear()
    inline_node.submit(pipeline, "numbers", force=True)
    assert inline_node.config.database_url is None
    assert called == ["numbers"]  # run (on the node's runner) while submit waited for it
    assert inline_node.get(pipeline, "numbers") == [1, 2, 3]


def test_a_job_scheduled_for_later_runs_at_once_too(inline_node: fs.Node) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    assert inline_node.submit(pipeline, "total", scheduled_at=later, queue="nightly").wait() == 6


def test_a_failed_job_is_discarded_after_its_retries_and_wait_raises(inline_node: fs.Node) -> None:
    handle = inline_node.submit(pipeline, fragile, partition="bad")
    info = handle.status()
    assert (info.state, info.attempt) == ("discarded", 2)
    assert "bad partition data" in info.errors[-1]["error"]
    with pytest.raises(fs.MaterializationError) as caught:
        handle.wait()
    assert isinstance(caught.value.__cause__, ValueError)
    assert handle.cancel() is False


def test_a_mistake_in_the_call_raises_from_submit(inline_node: fs.Node) -> None:
    with pytest.raises(fs.AssetNotFoundError):
        inline_node.submit(pipeline, "totl")
    with pytest.raises(fs.PartitionError):
        inline_node.submit(pipeline, fragile, partition="elsewhere")


def test_nothing_is_stored_as_a_job_on_a_node_with_a_database(sqlite_url: str) -> None:
    with fs.start(testing="inline", database_url=sqlite_url) as node:
        assert node.submit(pipeline, "total").wait() == 6
        assert node.jobs.list() == []


def test_testing_takes_only_inline() -> None:
    with pytest.raises(fs.OptionError, match="testing must be None or 'inline', got 'eager'"):
        fs.start(testing="eager")  # type: ignore[typeddict-item]
