"""``flowstone run`` and ``flowstone status`` on a scatter asset: the value, the keys' progress."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Flowstone

SCATTER_SOURCE = """
import flowstone as fs

pipeline = fs.Pipeline("fan")

@pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(50), tolerate=0.1, max_concurrent=4))
def squares(ctx):
    if ctx.scatter_key == 7:
        raise ValueError("seven")
    return ctx.scatter_key ** 2
"""


def test_run_gathers_and_status_shows_the_keys_progress(flowstone: Flowstone, project: Path) -> None:
    (project / "fan.py").write_text(SCATTER_SOURCE)
    result = flowstone("run", "fan.py:pipeline", "squares", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["value"] == [n * n for n in range(50) if n != 7]

    status = flowstone("status", "fan.py:pipeline", "squares", "--json")
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)
    assert row["state"] == "completed"
    assert row["scatter"] == {"total": 50, "done": 49, "failed": 1, "running": 0, "state": "gathered"}

    table = flowstone("status", "fan.py:pipeline", "squares")
    assert table.returncode == 0, table.stderr
    assert "49/50 (1 failed)" in table.stdout


def test_run_without_json_draws_the_keys_bar(flowstone: Flowstone, project: Path) -> None:
    (project / "fan.py").write_text(SCATTER_SOURCE)
    result = flowstone("run", "fan.py:pipeline", "squares")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("[0, 1, 4")
