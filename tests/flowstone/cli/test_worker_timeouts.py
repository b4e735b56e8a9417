"""``flowstone worker`` and an asset abandoned by its timeout that never returns."""

from __future__ import annotations

import importlib
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from cli_support import Database, StartWorker

import flowstone as fs
from supervisors.testing import wait_for

SPINNING_SOURCE = """\
import flowstone as fs

pipeline = fs.Pipeline("spinning")


@pipeline.asset(timeout=0.3, retry=fs.Retry(max_attempts=1))
def spin(ctx: fs.Context) -> None:
    while True:  # never looks at the clock: its thread is abandoned, not stopped
        pass
"""


@pytest.fixture
def spinning(project: Path) -> Iterator[ModuleType]:
    """The pipeline module of ``spin``, importable here and by the worker."""
    name = f"spinning_{uuid.uuid4().hex[:12]}"
    (project / f"{name}.py").write_text(SPINNING_SOURCE)
    sys.path.insert(0, str(project))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(project))
        sys.modules.pop(name, None)


@pytest.mark.timeout(120)
def test_sigterm_exits_within_the_grace_although_a_timed_out_asset_still_spins(
    start_worker: StartWorker, sqlite_database: Database, spinning: ModuleType
) -> None:
    worker = start_worker(
        spinning.__name__, "--queues", "assets=2", "--shutdown-grace", "2", database=sqlite_database
    )
    with fs.start(database_url=sqlite_database.url, name="submitter") as node:
        job = node.submit(spinning.pipeline, "spin")
        wait_for(lambda: node.jobs.get(job.id).state == "discarded", timeout=60, message="the timeout")
        assert "timed out after 0.3 s" in node.jobs.get(job.id).errors[-1]["error"]
    assert worker.process.poll() is None  # the worker lives on, its abandoned thread spinning
    sent = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(timeout=30)
    assert time.monotonic() - sent <= 2 + 1.0, worker.output()
