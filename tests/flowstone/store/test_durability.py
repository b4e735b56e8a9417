"""State survives the process: a second process with the same database sees the first's work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

PIPELINE_MODULE = '''
"""The pipeline both processes define: numbers → doubled → total, one line per call."""

import os
from pathlib import Path

import flowstone as fs

CALLS = Path(os.environ["FS_TEST_CALLS"])
pipeline = fs.Pipeline("durable")


def _called(name: str) -> None:
    with CALLS.open("a") as stream:
        stream.write(name + "\\n")


@pipeline.asset
def numbers(ctx: fs.Context) -> list[int]:
    _called("numbers")
    return [1, 2, 3, 4, 5]


@pipeline.asset
def doubled(ctx: fs.Context, numbers: list[int]) -> list[int]:
    _called("doubled")
    return [n * 2 for n in numbers]


@pipeline.asset
def total(ctx: fs.Context, doubled: list[int]) -> int:
    _called("total")
    return sum(doubled)
'''

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sys.path.insert(0, sys.argv[1])

    import flowstone as fs
    from durable_pipeline import pipeline

    url, action = sys.argv[2], sys.argv[3]
    report = {}
    with fs.start(database_url=url) as node:
        if action == "run":
            report["value"] = node.run(pipeline, "total", partition="2025-01-01")
        elif action == "read":
            status = node.status(pipeline, "total", "2025-01-01")
            report["status"] = [status.state, status.run_id, status.attempts]
            report["get"] = node.get(pipeline, "total", "2025-01-01")
            report["get_numbers"] = node.get(pipeline, "numbers", "2025-01-01")
            report["exists"] = node.exists(pipeline, "total", "2025-01-01")
            report["exists_other"] = node.exists(pipeline, "total", "2025-01-02")
            up = node.lineage.upstream(pipeline, "total", "2025-01-01")
            down = node.lineage.downstream(pipeline, "numbers", "2025-01-01")
            report["upstream"] = [[r.asset, r.partition, r.depth] for r in up]
            report["downstream"] = [[r.asset, r.partition, r.depth] for r in down]
            report["rerun"] = node.run(pipeline, "total", partition="2025-01-01")
            report["audit"] = [e.event_type for e in node.audit(10)]
    print(json.dumps(report))
    """
)


def run_process(directory: Path, url: str, action: str) -> dict[str, Any]:
    env = {**os.environ, "FS_TEST_CALLS": str(directory / "calls.txt")}
    env.pop("FLOWSTONE_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(directory), url, action],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "durable_pipeline.py").write_text(PIPELINE_MODULE)
    return tmp_path


class TestANewProcess:
    @pytest.mark.timeout(90)
    def test_sees_values_records_lineage_and_reuses_the_cache(self, workdir: Path, database_url: str) -> None:
        first = run_process(workdir, database_url, "run")
        assert first == {"value": 30}
        assert (workdir / "calls.txt").read_text().split() == ["numbers", "doubled", "total"]

        second = run_process(workdir, database_url, "read")
        state, run_id, attempts = second["status"]
        assert (state, attempts) == ("completed", 1)
        assert run_id
        assert second["get"] == 30
        assert second["get_numbers"] == [1, 2, 3, 4, 5]
        assert second["exists"] is True
        assert second["exists_other"] is False
        assert second["upstream"] == [["doubled", "2025-01-01", 1], ["numbers", "2025-01-01", 2]]
        assert second["downstream"] == [["doubled", "2025-01-01", 1], ["total", "2025-01-01", 2]]
        assert second["rerun"] == 30
        # The cache held: the second process called no asset function.
        assert (workdir / "calls.txt").read_text().split() == ["numbers", "doubled", "total"]
        # The audit log written by the first process is there too, newest first.
        assert second["audit"] == ["run.finished", "run.started"]
