"""The command in a pipe (issue 21): no live redraw, no mid-word wraps, JSON on failure.

Every command runs as a real subprocess with stdout and stderr as pipes; output is read
as bytes where a ``\\r`` matters (text mode would turn it into a newline).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import COMMAND_TIMEOUT, Flowstone

INSPECTION = [
    ("status", "pipe.py:pipeline"),
    ("assets", "pipe.py:pipeline"),
    ("graph", "pipe.py:pipeline"),
    ("lineage", "pipe.py:pipeline", "total"),
    ("tree",),
    ("health",),
    ("jobs", "list"),
    ("jobs", "stats"),
    ("schedules",),
    ("sensors",),
    ("gates",),
    ("approvals", "list"),
    ("db", "current"),
]

LONG = "the_daily_report_of_every_shop_in_the_region_with_a_name_longer_than_eighty_columns_asset"


def _piped(project: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FLOWSTONE_DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "flowstone", *args],
        cwd=project,
        env=env,
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("command", INSPECTION, ids=[" ".join(c[:2]) for c in INSPECTION])
def test_every_inspection_command_prints_json(project: Path, command: tuple[str, ...]) -> None:
    _piped(project, "run", "pipe.py:pipeline", "total")  # a store with one run in it
    done = _piped(project, *command, "--json")
    assert done.returncode in (0, 1), done.stderr.decode()
    json.loads(done.stdout)


def test_graph_json_lists_assets_and_edges(flowstone: Flowstone) -> None:
    done = flowstone("graph", "pipe.py:pipeline", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["pipeline"] == "cli"
    assert {"from": "numbers", "to": "doubled"} in shown["edges"]
    assert {"from": "doubled", "to": "total"} in shown["edges"]
    assert [a["name"] for a in shown["assets"]][:2] == ["numbers", "doubled"]


def test_a_failing_run_with_json_prints_the_error_and_its_run_id(project: Path) -> None:
    done = _piped(project, "run", "pipe.py:pipeline", "daily", "--partition", "2025-01-05", "--json")
    assert done.returncode == 1
    shown = json.loads(done.stdout)
    assert shown["run_id"]
    assert shown["asset"] == "daily"
    assert shown["partition"] == "2025-01-05"
    assert "no sales data for 2025-01-05" in shown["error"]
    # one text for one error: the stderr line says exactly what the JSON says
    assert done.stderr.decode().splitlines()[-1] == f"error: {shown['error']}"
    status = json.loads(
        _piped(project, "status", "pipe.py:pipeline", "daily", "--partition", "2025-01-05", "--json").stdout
    )
    assert shown["run_id"] in json.dumps(status)


def test_tables_in_a_pipe_are_not_wrapped_mid_word(project: Path) -> None:
    source = (project / "pipe.py").read_text()
    (project / "pipe.py").write_text(
        source + f"\n\n@pipeline.asset(description='{LONG} described at length, also past eighty columns')\n"
        f"def {LONG}(ctx: fs.Context) -> int:\n    return 1\n"
    )
    done = _piped(project, "assets", "pipe.py:pipeline")
    assert done.returncode == 0, done.stderr.decode()
    text = done.stdout.decode()
    assert LONG in text
    assert f"{LONG} described at length, also past eighty columns" in text


def test_a_backfill_in_a_pipe_draws_no_live_progress(project: Path) -> None:
    done = _piped(project, "backfill", "pipe.py:pipeline", "total", "--partitions", "2025-01-01..2025-01-10")
    assert done.returncode == 0, done.stderr.decode()
    assert b"\r" not in done.stderr
    assert b"\r" not in done.stdout
    assert b"\x1b[" not in done.stderr  # no cursor movement either
