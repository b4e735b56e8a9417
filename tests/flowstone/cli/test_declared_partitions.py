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


def test_status_without_a_partition_shows_an_overview_line_per_asset(
    flowstone: Flowstone, project: Path
) -> None:
    target = write(project)
    database = ["--database-url", f"sqlite:///{project / 'overview.db'}"]
    assert flowstone("run", target, "sales", "--partition", "eu|2025-01-01", *database).returncode == 0
    assert flowstone("run", target, "sales", "--partition", "us|2025-01-01", *database).returncode == 0
    result = flowstone("status", target, "sales", *database)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sales: 2 of 6 partitions materialized"


def test_status_json_without_a_partition_gives_the_same_data(flowstone: Flowstone, project: Path) -> None:
    target = write(project)
    database = ["--database-url", f"sqlite:///{project / 'overview.db'}"]
    assert flowstone("run", target, "sales", "--partition", "eu|2025-01-02", *database).returncode == 0
    result = flowstone("status", target, "--json", *database)
    assert result.returncode == 0, result.stderr
    (sales,) = json.loads(result.stdout)
    assert sales["counts"] == {"completed": 1, "missing": 5}
    assert sales["partitions"]["completed"] == ["eu|2025-01-02"]
    assert sales["summary"] == "1 of 6 partitions materialized"


FAILING = """
import flowstone as fs

pipeline = fs.Pipeline("failing_days")


@pipeline.asset(partitions=fs.partitions.Daily("2025-01-01", "2025-01-06"))
def orders(ctx):
    if ctx.partition.day in (3, 4):
        raise ValueError("no orders")
    return 1
"""


def test_status_lists_the_failed_partitions_as_ranges(flowstone: Flowstone, project: Path) -> None:
    (project / "failing.py").write_text(FAILING)
    database = ["--database-url", f"sqlite:///{project / 'failing.db'}"]
    backfill = flowstone(
        "backfill", "failing.py:pipeline", "orders", "--partitions", "2025-01-01..2025-01-05", *database
    )
    assert backfill.returncode == 1
    result = flowstone("status", "failing.py:pipeline", *database)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "orders: 3 of 6 days materialized, 2 failed",
        "  failed: 2025-01-03..2025-01-04",
    ]


STALE = """
import flowstone as fs

pipeline = fs.Pipeline("stale_cli")


@pipeline.asset(code_version="{version}")
def raw(ctx):
    return {version}


@pipeline.asset
def doubled(ctx, raw):
    return raw * 2
"""


def test_run_stale_re_runs_a_value_whose_code_changed(flowstone: Flowstone, project: Path) -> None:
    database = ["--database-url", f"sqlite:///{project / 'stale.db'}"]
    (project / "stale.py").write_text(STALE.format(version=1))
    assert flowstone("run", "stale.py:pipeline", "doubled", *database).returncode == 0
    (project / "stale.py").write_text(STALE.format(version=2))
    status = flowstone("status", "stale.py:pipeline", "doubled", "--json", *database)
    assert json.loads(status.stdout)[0]["stale_reasons"] == ["upstream 'raw' is stale"]
    result = flowstone("run", "stale.py:pipeline", "doubled", "--stale", "--json", *database)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"] == 4
