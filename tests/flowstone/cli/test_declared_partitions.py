"""The CLI reads partitions with the asset's declared set, and backfills the set by default."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Flowstone

SOURCE = """
import flowstone as fs

pipeline = fs.Pipeline("declared_cli")
REGIONS = fs.partitions.Static(["eu", "us"])
DAYS = fs.partitions.Daily("2025-01-01", "2025-01-03")


@pipeline.asset(partitions=fs.partitions.Multi(region=REGIONS, day=DAYS))
def sales(ctx):
    region, day = ctx.partition
    return f"{region} {day}"
"""


def write(project: Path) -> str:
    (project / "declared.py").write_text(SOURCE)
    return "declared.py:pipeline"


def test_a_backfill_without_partitions_covers_the_declared_set(flowstone: Flowstone, project: Path) -> None:
    result = flowstone("backfill", write(project), "sales", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["succeeded"] == 6


def test_a_run_reads_a_multi_partition_in_the_sets_syntax(flowstone: Flowstone, project: Path) -> None:
    result = flowstone("run", write(project), "sales", "--partition", "us|2025-01-02", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"] == "us 2025-01-02"


def test_a_partition_outside_the_set_is_refused_with_the_apis_text(
    flowstone: Flowstone, project: Path
) -> None:
    result = flowstone("run", write(project), "sales", "--partition", "fr|2025-01-02")
    assert result.returncode == 2
    assert "partition 'fr' is not in the declared set Static(['eu', 'us'])" in result.stderr


def test_a_backfill_without_partitions_of_an_asset_without_a_set_is_a_usage_error(
    flowstone: Flowstone,
) -> None:
    result = flowstone("backfill", "pipe.py:pipeline", "total")
    assert result.returncode == 2
    assert "declares no partition set: give --partitions" in result.stderr
