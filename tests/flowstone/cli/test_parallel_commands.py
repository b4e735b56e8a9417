"""Issue 16: ``flowstone run``, ``status``, ``backfill`` and ``graph`` work for a parallel
asset: the join's value, its state, one join per partition, and the join drawn distinctly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Database, Flowstone

PARALLEL_SOURCE = """
import flowstone as fs

pipeline = fs.Pipeline("parallel_cli")


@pipeline.asset
def eu_report(ctx):
    return (ctx.partition or 0) * 10


@pipeline.asset
def us_report(ctx):
    return 1


@pipeline.parallel(branches={"eu": "eu_report", "us": fs.Branch("us_report", required=False)})
def reports(ctx, branches):
    return sum(b.value for b in branches.values() if b.ok)
"""


@pytest.fixture
def parallel(project: Path) -> str:
    (project / "parallel_cli.py").write_text(PARALLEL_SOURCE)
    return "parallel_cli.py:pipeline"


def test_run_prints_the_join_value_and_status_shows_every_asset_completed(
    flowstone: Flowstone, parallel: str, database: Database
) -> None:
    result = flowstone("run", parallel, "reports", "--partition", "2", "--json", *database.args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"] == 21
    status = flowstone("status", parallel, "--partition", "2", "--json", *database.args)
    assert status.returncode == 0, status.stderr
    states = {row["asset"]: row["state"] for row in json.loads(status.stdout)}
    assert states == {"eu_report": "completed", "us_report": "completed", "reports": "completed"}


def test_graph_draws_the_parallel_asset_and_its_branches(flowstone: Flowstone, parallel: str) -> None:
    mermaid = flowstone("graph", parallel, "--format", "mermaid")
    assert mermaid.returncode == 0, mermaid.stderr
    assert 'reports[["reports"]]' in mermaid.stdout
    assert "eu_report ==>|eu| reports" in mermaid.stdout
    ascii_ = flowstone("graph", parallel)
    assert "[parallel: eu=eu_report | us=us_report]" in ascii_.stdout
    dot = flowstone("graph", parallel, "--format", "dot")
    assert '"eu_report" -> "reports" [style=bold, label="eu"];' in dot.stdout
