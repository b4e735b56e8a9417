"""``flowstone backfill``: progress on stderr, a summary on stdout, exit 1 if a partition failed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_support import Database, Flowstone, StartWorker, lines, shop


def row(*cells: int) -> re.Pattern[str]:
    """A table row of the summary, cells separated by rich's box lines."""
    return re.compile(r"│\s*" + r"\s*│\s*".join(str(c) for c in cells) + r"\s*│")


def test_a_backfill_of_a_range_exits_0_and_prints_the_summary_table(
    flowstone: Flowstone, project: Path
) -> None:
    result = flowstone(
        "backfill", "pipe.py:pipeline", "total", "--partitions", "2025-01-01..2025-01-10", "--parallel", "2"
    )

    assert result.returncode == 0, result.stderr
    assert "backfill of total" in result.stdout
    assert re.search(r"succeeded\s*┃\s*failed\s*┃\s*timed out\s*┃\s*skipped", result.stdout)
    assert row(10, 0, 0, 0).search(result.stdout), result.stdout
    assert "failures" not in result.stdout
    assert "10/10" in result.stderr  # the progress bar, on stderr only
    assert "10/10" not in result.stdout
    assert sorted(line for line in lines(project / "calls.log") if line.startswith("total")) == sorted(
        f"total 2025-01-{day:02d}" for day in range(1, 11)
    )


def test_a_backfill_with_a_failing_partition_exits_1_and_lists_it(flowstone: Flowstone) -> None:
    result = flowstone(
        "backfill", "pipe.py:pipeline", "daily", "--partitions", "2025-01-01..2025-01-10", "--parallel", "2"
    )

    assert result.returncode == 1, result.stderr
    assert row(9, 1, 0, 0).search(result.stdout), result.stdout
    failures = result.stdout[result.stdout.index("failures") :]
    assert re.search(r"2025-01-05\s*│\s*failed\s*│\s*ValueError: no sales data for 2025-01-05", failures)
    assert "2025-01-04" not in failures
    assert "Traceback" not in result.stderr


def test_a_backfill_with_json_prints_pure_json_counts(flowstone: Flowstone, database: Database) -> None:
    result = flowstone(
        "backfill",
        "pipe.py:pipeline",
        "daily",
        "--partitions",
        "2025-01-01..2025-01-10",
        "--parallel",
        "2",
        "--json",
        *database.args,
    )

    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)  # the progress bar went to stderr, or nowhere
    assert {k: summary[k] for k in ("asset", "succeeded", "failed", "timed_out", "skipped")} == {
        "asset": "daily",
        "succeeded": 9,
        "failed": 1,
        "timed_out": 0,
        "skipped": 0,
    }
    [failure] = summary["failures"]
    assert failure["partition"] == "2025-01-05"
    assert failure["status"] == "failed"
    assert "no sales data for 2025-01-05" in failure["error"]


def test_a_second_backfill_skips_the_materialized_partitions_of_a_list(
    flowstone: Flowstone, project: Path
) -> None:
    first = flowstone("backfill", "pipe.py:pipeline", "total", "--partitions", "eu,us,42")
    assert first.returncode == 0, first.stderr

    second = flowstone("backfill", "pipe.py:pipeline", "total", "--partitions", "eu,us,42", "--json")

    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (0, 3, 0)
    assert sorted(line for line in lines(project / "calls.log") if line.startswith("total")) == [
        "total 42",
        "total eu",
        "total us",
    ]


def test_a_durable_backfill_is_run_by_a_worker(
    flowstone: Flowstone, start_worker: StartWorker, sqlite_database: Database
) -> None:
    worker = start_worker("pipe", "--queues", "assets=2", database=sqlite_database)

    result = flowstone(
        "backfill",
        "pipe.py:pipeline",
        "daily",
        "--partitions",
        "2025-01-01..2025-01-03",
        "--durable",
        "--json",
    )

    assert result.returncode == 0, result.stderr + worker.output()
    summary = json.loads(result.stdout)
    assert (summary["succeeded"], summary["failed"], summary["skipped"]) == (3, 0, 0)
    listed = flowstone("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert sorted(j["partition_key"] for j in jobs) == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert {j["state"] for j in jobs} == {"completed"}


def test_a_durable_backfill_reports_the_assets_own_errors_and_counts_them_on_the_bar(
    flowstone: Flowstone, project: Path, start_worker: StartWorker, database: Database
) -> None:
    """[12.6] the same summary, bar and JSON as an in-process backfill, not "job N ended discarded"."""
    shop(project)
    worker = start_worker("mypipes.shop", "--queues", "assets=2", database=database)
    failing = ("2025-05-02", "2025-05-04")

    result = flowstone(
        "backfill",
        "mypipes/shop.py:pipeline",
        "daily_report",
        "--partitions",
        "2025-05-01..2025-05-05",
        "--durable",
        *database.args,
    )

    assert result.returncode == 1, result.stderr + worker.output()
    assert row(3, 2, 0, 0).search(result.stdout), result.stdout
    failures = result.stdout[result.stdout.index("failures") :]
    for day in failing:
        assert re.search(rf"{day}\s*│\s*failed\s*│\s*ValueError: no orders exported for {day}", failures)
    assert "ended discarded" not in result.stdout
    assert "5/5" in result.stderr
    assert "failed: 2" in result.stderr  # the bar counts what failed

    again = flowstone(  # the failed partitions run again; the others are materialized
        "backfill",
        "mypipes/shop.py:pipeline",
        "daily_report",
        "--partitions",
        "2025-05-01..2025-05-05",
        "--durable",
        "--json",
        *database.args,
    )

    assert again.returncode == 1, again.stderr + worker.output()
    summary = json.loads(again.stdout)
    assert (summary["succeeded"], summary["failed"], summary["skipped"]) == (0, 2, 3)
    by_day = {f["partition"]: f for f in summary["failures"]}
    assert sorted(by_day) == list(failing)
    for day in failing:
        assert by_day[day]["status"] == "failed"
        assert f"ValueError: no orders exported for {day}" in by_day[day]["error"]
        assert "daily_report" in by_day[day]["error"]
