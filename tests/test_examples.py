"""The examples under examples/ run to completion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_the_example_runs(script: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "an example should show what it did"


def test_the_demo_reuses_stored_results_on_a_second_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    script = ROOT / "examples" / "daily_sales.py"
    runs = [
        subprocess.run(
            [sys.executable, str(script), "--database-url", url],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr[-3000:]
    assert "skipped" in runs[1].stdout.lower() or "reused" in runs[1].stdout.lower()


def test_the_demo_in_a_pipe_writes_no_live_redraw(tmp_path: Path) -> None:
    """stderr is a pipe here: the backfill progress is one final plain line, no bare ``\\r``.

    Bytes, not text: text mode would turn a ``\\r`` into a newline before the check."""
    script = ROOT / "examples" / "daily_sales.py"
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert b"\r" not in result.stderr
    assert b"\r" not in result.stdout
    progress = [line for line in result.stderr.decode().splitlines() if "backfill:" in line]
    assert progress == ["  backfill: 31/31 partitions"]
