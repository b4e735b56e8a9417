"""Two ``flowstone worker`` processes share one scatter: each runs some of its keys, every
key runs once, and it gathers once."""

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

KEYS = 400

SOURCE = """
import os, time
import flowstone as fs

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "executions")
pipeline = fs.Pipeline("shared")

def note(line):
    with open(LOG, "a") as f:
        f.write(line + "\\n")

def gather(ctx, results):
    note(f"{os.getpid()} gather")
    return sum(v for _, v in results)

@pipeline.asset(scatter=fs.Scatter(keys=lambda ctx: range(KEYS), gather=gather))
def fanout(ctx):
    note(f"{os.getpid()} {ctx.scatter_key}")
    time.sleep(0.05)  # the work of a key, long enough for the other worker to join
    return ctx.scatter_key
""".replace("KEYS", str(KEYS))


@pytest.fixture
def shared_module(project: Path) -> Iterator[ModuleType]:
    name = f"scatter_pipe_{uuid.uuid4().hex[:12]}"
    (project / f"{name}.py").write_text(SOURCE)
    sys.path.insert(0, str(project))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(project))
        sys.modules.pop(name, None)


@pytest.mark.slow
def test_two_workers_share_one_scatter_and_it_gathers_once(
    start_worker: StartWorker, database: Database, shared_module: ModuleType, project: Path
) -> None:
    with fs.start(database_url=database.url, name="submitter") as node:
        handle = node.submit(shared_module.pipeline, "fanout")
        workers = [start_worker(shared_module.__name__, "--verbose", database=database) for _ in range(2)]
        value = handle.wait(timeout=120)
        assert value == sum(range(KEYS))
    log = project / "executions"
    assert log.exists()
    lines = [line.split() for line in log.read_text().splitlines()]
    gathers = [pid for pid, what in lines if what == "gather"]
    keys = collections.Counter(what for _, what in lines if what != "gather")
    assert len(gathers) == 1
    assert keys == collections.Counter(str(k) for k in range(KEYS))  # every key once
    pids = {pid for pid, what in lines if what != "gather"}
    assert len(pids) == 2, f"keys ran in {len(pids)} process(es): {[w.output()[-500:] for w in workers]}"
