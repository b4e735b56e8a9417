"""Issue 16: with two ``flowstone worker`` processes on one database, a parallel asset's
branches run as jobs on the workers, each once, and the join runs exactly once."""

from __future__ import annotations

import collections
import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from cli_support import Database, StartWorker

import flowstone as fs

SOURCE = """
import os
import threading
import flowstone as fs

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "executions")
pipeline = fs.Pipeline("parallel_workers")

def note(line):
    with open(LOG, "a") as f:
        f.write(f"{os.getpid()} {line}\\n")

def branch(name):
    def final(ctx):
        note(name)
        return len(name)
    final.__name__ = name
    return pipeline.asset(final)

for name in ("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"):
    branch(name)

@pipeline.parallel(branches={name: name for name in ("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7")})
def joined(ctx, branches):
    note("join")
    return sum(b.value for b in branches.values())
"""


@pytest.fixture
def module(project: Path) -> Iterator[ModuleType]:
    name = f"parallel_pipe_{uuid.uuid4().hex[:12]}"
    (project / f"{name}.py").write_text(SOURCE)
    sys.path.insert(0, str(project))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(project))
        sys.modules.pop(name, None)


def test_two_workers_run_the_branches_as_jobs_and_join_once(
    start_worker: StartWorker, database: Database, module: ModuleType, project: Path
) -> None:
    workers = [start_worker(module.__name__, database=database) for _ in range(2)]
    with fs.start(database_url=database.url, name="submitter") as node:
        handles = [node.submit(module.pipeline, "joined", partition=n) for n in range(3)]
        values = [handle.wait(timeout=90) for handle in handles]
    assert values == [16, 16, 16], [w.output()[-2000:] for w in workers]
    lines = [line.split() for line in (project / "executions").read_text().splitlines()]
    counts = collections.Counter(what for _, what in lines)
    assert counts["join"] == 3  # one join per partition, across both workers
    assert all(counts[f"b{i}"] == 3 for i in range(8))  # every branch once per partition
