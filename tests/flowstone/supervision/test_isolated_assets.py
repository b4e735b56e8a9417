"""``@p.asset(isolation="process")``: an asset that runs in a supervised worker process."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from isolated_assets import pipeline

import flowstone as fs
from supervisors.testing import wait_for

here = fs.Pipeline("isolated_here")


@here.asset(isolation="process")
def defined_in_the_test_module(ctx: fs.Context) -> int:
    return os.getpid()


@pytest.fixture
def node() -> Iterator[fs.Node]:
    with fs.start(max_concurrency=2) as started:
        yield started


def _rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_an_isolated_asset_runs_in_another_process_with_its_dependencies(node: fs.Node) -> None:
    value = node.run(pipeline, "doubled")
    assert value["values"] == [2, 4, 6]
    assert value["pid"] != os.getpid()
    again = node.run(pipeline, "doubled", force=True)
    assert again["pid"] == value["pid"]  # a warm worker is reused


@pytest.mark.parametrize(("asset", "reason"), [("segfaults", "SIGSEGV"), ("exits", "status 9")])
def test_a_crash_of_the_worker_fails_only_that_materialization(
    node: fs.Node, asset: str, reason: str
) -> None:
    with pytest.raises(fs.MaterializationError) as caught:
        node.run(pipeline, asset)
    assert isinstance(caught.value.__cause__, fs.IsolationError)
    assert reason in str(caught.value.__cause__)
    assert node.status(pipeline, asset).state == "failed"
    assert node.run(pipeline, "doubled")["values"] == [2, 4, 6]  # the next one gets a fresh worker
    assert node.is_alive()


def test_an_exception_in_an_isolated_asset_keeps_its_built_in_type(node: fs.Node) -> None:
    with pytest.raises(fs.MaterializationError) as caught:
        node.run(pipeline, "raises")
    cause = caught.value.__cause__
    assert isinstance(cause, KeyError)
    assert "missing thing" in str(cause)
    assert "in the worker process" in str(cause)


def test_a_node_default_isolates_assets_without_their_own() -> None:
    with fs.start(isolation="process") as isolated:
        assert isolated.run(pipeline, "where") != os.getpid()
    with fs.start() as threaded:
        assert threaded.run(pipeline, "where") == os.getpid()


def test_an_asset_of_a_module_imported_by_file_runs_isolated_too(node: fs.Node) -> None:
    # pytest imports this module by file (--import-mode=importlib): the worker does the same
    assert node.run(here, "defined_in_the_test_module") != os.getpid()


def test_a_nested_function_cannot_be_isolated(node: fs.Node) -> None:
    local = fs.Pipeline("local")

    @local.asset(isolation="process")
    def inner(ctx: fs.Context) -> int:
        return 1

    with pytest.raises(fs.MaterializationError) as caught:
        node.run(local, "inner")
    assert isinstance(caught.value.__cause__, fs.IsolationError)
    assert "module-level" in str(caught.value.__cause__)


def test_isolation_is_validated() -> None:
    with pytest.raises(ValueError, match="isolation"):
        fs.Pipeline("bad").asset(isolation="vm")(lambda ctx: 1)


@pytest.mark.slow
def test_a_timeout_kills_the_worker_and_the_node_rss_is_back_to_baseline(node: fs.Node) -> None:
    node.run(pipeline, "numbers")  # a warm worker, and the node's own allocations done
    baseline = _rss_mib()
    began = time.monotonic()
    with pytest.raises(fs.MaterializationError) as caught:
        node.run(pipeline, "hogs")
    assert time.monotonic() - began < 5.0
    assert "timed out" in str(caught.value.__cause__)
    workers = node._directory.lookup("isolated")
    wait_for(lambda: workers.count_children()["active"] <= 1, message="the killed worker gone")
    assert _rss_mib() < baseline + 20  # the 200 MiB lived, and died, in the worker
    assert node.run(pipeline, "doubled", force=True)["values"] == [2, 4, 6]
