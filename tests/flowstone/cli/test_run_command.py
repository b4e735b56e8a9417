"""``flowstone run``: the value on stdout, the run id on stderr, one-line errors, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli_support import PIPELINE_SOURCE, Database, Flowstone, lines

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_run_prints_the_value_on_stdout_and_the_run_id_on_stderr(flowstone: Flowstone, project: Path) -> None:
    result = flowstone("run", "pipe.py:pipeline", "total")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30"
    run_line = next(line for line in result.stderr.splitlines() if line.startswith("run "))
    assert RUN_ID.match(run_line.removeprefix("run "))
    assert (project / ".flowstone" / "flowstone.db").is_file()  # the embedded default


def test_run_with_json_prints_pure_json_with_the_value_and_the_run_id(
    flowstone: Flowstone, database: Database
) -> None:
    result = flowstone("run", "pipe.py:pipeline", "doubled", "--json", *database.args)

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["value"] == [2, 4, 6, 8, 10]
    assert data["asset"] == "doubled"
    assert data["partition"] is None
    assert RUN_ID.match(data["run_id"])


def test_a_second_run_reuses_the_stored_result(
    flowstone: Flowstone, database: Database, project: Path
) -> None:
    first = flowstone("run", "pipe.py:pipeline", "total", *database.args)
    assert first.returncode == 0, first.stderr
    first_run = next(line for line in first.stderr.splitlines() if line.startswith("run "))

    second = flowstone("run", "pipe.py:pipeline", "total", "--json", *database.args)

    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["value"] == 30
    assert f"run {data['run_id']}" == first_run
    assert lines(project / "calls.log") == ["numbers None", "doubled None", "total None"]


def test_a_large_value_is_pretty_printed_and_truncated(flowstone: Flowstone) -> None:
    result = flowstone("run", "pipe.py:pipeline", "big")

    assert result.returncode == 0, result.stderr
    assert "'rows': [" in result.stdout
    assert "0, 1, 2" in result.stdout
    assert "999" not in result.stdout
    assert len(result.stdout) < 1000  # the value's repr is over 5,000 characters


def test_force_runs_the_asset_again(flowstone: Flowstone, project: Path) -> None:
    assert flowstone("run", "pipe.py:pipeline", "total").returncode == 0

    result = flowstone("run", "pipe.py:pipeline", "total", "--force", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"] == 30
    assert lines(project / "calls.log").count("total None") == 2


def test_the_partition_is_parsed_and_partition_str_keeps_it_a_string(
    flowstone: Flowstone, project: Path
) -> None:
    as_int = flowstone("run", "pipe.py:pipeline", "total", "--partition", "42", "--json")
    as_str = flowstone("run", "pipe.py:pipeline", "total", "--partition", "42", "--partition-str", "--json")

    assert as_int.returncode == 0, as_int.stderr
    assert as_str.returncode == 0, as_str.stderr
    assert json.loads(as_int.stdout)["partition"] == 42
    assert json.loads(as_str.stdout)["partition"] == "42"
    assert lines(project / "calls.log").count("total 42") == 2  # two distinct partitions


def test_a_package_module_target_is_imported_with_the_cwd_on_the_path(
    flowstone: Flowstone, project: Path
) -> None:
    package = project / "analytics"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pipelines.py").write_text(PIPELINE_SOURCE)

    result = flowstone("run", "analytics.pipelines:pipeline", "total", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"] == 30
    assert lines(package / "calls.log") == ["numbers None", "doubled None", "total None"]


def test_a_failing_asset_exits_1_with_one_error_line_and_no_traceback(flowstone: Flowstone) -> None:
    result = flowstone("run", "pipe.py:pipeline", "daily", "--partition", "2025-01-05")

    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    [line] = error_lines(result.stderr)
    assert "daily" in line
    assert "2025-01-05" in line
    assert "no sales data for 2025-01-05" in line


def test_debug_shows_the_traceback_of_a_failing_asset(flowstone: Flowstone) -> None:
    result = flowstone("--debug", "run", "pipe.py:pipeline", "daily", "--partition", "2025-01-05")

    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "no sales data for 2025-01-05" in result.stderr


def test_a_missing_argument_exits_2(flowstone: Flowstone) -> None:
    result = flowstone("run", "pipe.py:pipeline")

    assert result.returncode == 2
    assert "Missing argument 'ASSET'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_target_file_exits_2_naming_the_file(flowstone: Flowstone) -> None:
    result = flowstone("run", "missing.py:pipeline", "total")

    assert result.returncode == 2
    assert "missing.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_target_without_that_pipeline_exits_2(flowstone: Flowstone) -> None:
    result = flowstone("run", "pipe.py:nothing", "total")

    assert result.returncode == 2
    assert "nothing" in result.stderr
    assert "Traceback" not in result.stderr
