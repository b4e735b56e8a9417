"""Issue 16: ``flowstone run``, ``status``, ``backfill`` and ``graph`` show routing: a skipped
asset, the partitions no router selected, the router and its branches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Database, Flowstone

ROUTED_SOURCE = """
import flowstone as fs

pipeline = fs.Pipeline("routed")


@pipeline.router(branches=("even", "odd"))
def parity(ctx):
    return "even" if (ctx.partition or 0) % 2 == 0 else "odd"


@pipeline.asset(routed_from="parity")
def even(ctx):
    return "even"


@pipeline.asset(routed_from="parity")
def odd(ctx):
    return "odd"


@pipeline.asset
def after_odd(ctx, odd):
    return odd + "!"
"""


@pytest.fixture
def routed(project: Path) -> str:
    (project / "routed.py").write_text(ROUTED_SOURCE)
    return "routed.py:pipeline"


def test_run_of_a_skipped_asset_says_so_and_exits_0(flowstone: Flowstone, routed: str) -> None:
    result = flowstone("run", routed, "after_odd", "--partition", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "skipped (not selected by its router)"


def test_run_with_json_gives_the_skipped_state_and_no_value(
    flowstone: Flowstone, routed: str, database: Database
) -> None:
    result = flowstone("run", routed, "odd", "--partition", "4", "--json", *database.args)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["state"], data["value"]) == ("skipped", None)
    assert data["run_id"]


def test_status_shows_the_skipped_assets(flowstone: Flowstone, routed: str, database: Database) -> None:
    assert flowstone("run", routed, "after_odd", "--partition", "2", *database.args).returncode == 0
    result = flowstone("status", routed, "--partition", "2", "--json", *database.args)
    assert result.returncode == 0, result.stderr
    states = {row["asset"]: row["state"] for row in json.loads(result.stdout)}
    assert states == {"parity": "completed", "even": "not_found", "odd": "skipped", "after_odd": "skipped"}


def test_backfill_counts_the_partitions_no_router_selected(flowstone: Flowstone, routed: str) -> None:
    result = flowstone("backfill", routed, "odd", "--partitions", "1,2,3,4,5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["succeeded"], data["skipped"], data["not_selected"], data["failed"]) == (3, 2, 2, 0)


def test_graph_draws_the_router_and_its_branches(flowstone: Flowstone, routed: str) -> None:
    result = flowstone("graph", routed, "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert 'parity{"parity"}' in result.stdout
    assert "parity -.->|odd| odd" in result.stdout
