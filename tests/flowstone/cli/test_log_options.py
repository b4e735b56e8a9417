"""``--log-level`` / ``--log-format`` and their environment forms: logs on stderr only (issue 21)."""

from __future__ import annotations

import json

from cli_support import Flowstone, child_env


def _log_lines(stderr: str) -> list[str]:
    """Console log lines start with their ISO timestamp (the run id line does not)."""
    return [line for line in stderr.splitlines() if line[:4].isdigit()]


def test_by_default_a_command_logs_nothing_and_stdout_holds_only_the_result(flowstone: Flowstone) -> None:
    done = flowstone("run", "pipe.py:pipeline", "total")
    assert done.returncode == 0, done.stderr
    assert _log_lines(done.stderr) == []
    assert "30" in done.stdout


def test_log_format_json_writes_one_object_per_line_to_stderr_with_the_fields(flowstone: Flowstone) -> None:
    done = flowstone(
        "--log-level", "info", "--log-format", "json", "run", "pipe.py:pipeline", "total", "--json"
    )
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # stdout stays pure JSON
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert {"timestamp", "level", "logger", "event"} <= set(records[0])
    assert all(r["level"] in ("info", "warning", "error") for r in records)
    assert {r["logger"] for r in records} >= {"flowstone", "supervisors"}
    assert any(r.get("asset") == "total" and r.get("run_id") for r in records)
    assert not [r for r in records if r["logger"].startswith("alembic")]


def test_environment_forms_choose_level_and_format(flowstone: Flowstone) -> None:
    env = child_env(FLOWSTONE_LOG_LEVEL="info", FLOWSTONE_LOG_FORMAT="console")
    done = flowstone("run", "pipe.py:pipeline", "total", env=env)
    assert done.returncode == 0, done.stderr
    info = [line for line in _log_lines(done.stderr) if " INFO " in line]
    assert any(" flowstone: " in line for line in info)
    assert "30" in done.stdout


def test_explicit_option_beats_the_environment(flowstone: Flowstone) -> None:
    env = child_env(FLOWSTONE_LOG_LEVEL="info")
    done = flowstone("--log-level", "error", "run", "pipe.py:pipeline", "total", env=env)
    assert done.returncode == 0, done.stderr
    assert _log_lines(done.stderr) == []


def test_a_bad_log_format_is_a_usage_error_naming_the_choices(flowstone: Flowstone) -> None:
    done = flowstone("--log-format", "xml", "run", "pipe.py:pipeline", "total")
    assert done.returncode == 2
    assert "console" in done.stderr
    assert "json" in done.stderr
