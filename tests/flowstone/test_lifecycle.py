"""A node's life in its process: stopped cleanly when the main thread ends or gets SIGINT.

Each test runs a small script in a subprocess with a bounded wait: before the fix, every
one of them printed its output and never exited (non-daemon actor threads, joined by
Python before any ``atexit`` handler could stop the node). Scripts print the
``time.monotonic()`` at which their main thread ends; ``CLOCK_MONOTONIC`` is shared by
the processes of one machine, so the test measures how long the exit itself took.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import flowstone as fs

#: How long the stop of an idle node may take once the main thread has ended (the
#: documented margin is 1 s; this also absorbs a loaded test machine).
IDLE_EXIT = 5.0
#: The documented bound: a node's stop takes at most its shutdown grace plus this.
MARGIN = 1.0
#: A process's exit after its nodes' stop: that margin plus the interpreter's own teardown
#: (about 0.25 s with SQLAlchemy loaded, several times that on a loaded test machine).
EXIT_MARGIN = MARGIN + 1.0

PIPELINES = '''
"""Assets for the lifecycle scripts: one quick, one that works half a second, one that hangs."""
import threading

import flowstone as fs

pipeline = fs.Pipeline("lifecycle")
started = threading.Event()


@pipeline.asset
def quick(ctx):
    return "quick"


@pipeline.asset
def slow(ctx):
    started.set()
    threading.Event().wait(0.5)  # half a second of work
    return "slow"


@pipeline.asset
def hung(ctx):
    started.set()
    threading.Event().wait()  # never returns
'''

PRELUDE = """
import os, signal, sys, threading, time
# A process may inherit SIGINT ignored (started from a shell's background job) or blocked
# (by its parent's signal mask), and Python then installs no handler: give the script what
# a start from a terminal would have.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
signal.signal(signal.SIGINT, signal.default_int_handler)
import logging
# The library logs through stdlib logging: the events these tests look for, on stdout.
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
import flowstone as fs
from lifecycle_pipes import pipeline, started

def say(name, value):
    # One write per line, as logging's handler makes: print writes its parts one by one,
    # and a worker's log line can land between them.
    sys.stdout.write(f"{name} {value}\\n")
    sys.stdout.flush()

def ending():
    say("ending", time.monotonic())
"""


@dataclass(frozen=True, slots=True)
class Exited:
    """A finished script: its exit code, output, and how long it took to exit."""

    returncode: int
    stdout: str
    stderr: str
    exit_seconds: float

    def value(self, name: str) -> str:
        """The word printed after ``name`` on its own line (``say(name, value)``)."""
        for line in self.stdout.splitlines():
            if line.startswith(f"{name} "):
                return line.split()[1]
        raise AssertionError(f"the script printed no {name!r}:\n{self.stdout}\n{self.stderr}")

    def stopped(self, node_id: str) -> bool:
        """Whether the node logged its clean stop."""
        return any("node.stopped" in line and f"node={node_id}" in line for line in self.stdout.splitlines())


RunScript = Callable[..., Exited]


@pytest.fixture
def run_script(tmp_path: Path) -> RunScript:
    """``run_script(body, **format)``: run ``PRELUDE + body`` and wait for it (30 s at most)."""
    (tmp_path / "lifecycle_pipes.py").write_text(PIPELINES)

    def run(body: str, **values: Any) -> Exited:
        script = tmp_path / "script.py"
        script.write_text(PRELUDE + textwrap.dedent(body).format(**{k: repr(v) for k, v in values.items()}))
        path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env = {**os.environ, "PYTHONPATH": path}
        env.pop("FLOWSTONE_DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        exited = time.monotonic()
        result = Exited(done.returncode, done.stdout, done.stderr, 0.0)
        return Exited(done.returncode, done.stdout, done.stderr, exited - float(result.value("ending")))

    return run


@pytest.fixture
def inspect_node(database_url: str) -> Iterator[Callable[[], fs.Node]]:
    """A node on the test database (no queues), started after the script has exited."""
    nodes: list[fs.Node] = []

    def start() -> fs.Node:
        nodes.append(fs.start(database_url=database_url))
        return nodes[-1]

    yield start
    for node in nodes:
        node.stop()


def heartbeats(url: str) -> int:
    """Nodes still registered in the database: a node stopped cleanly removed its row."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM flowstone_nodes")).scalar_one())
    finally:
        engine.dispose()


ENDS = """
node = fs.start(**{options})
say("node", node.id)
ending()
"""

SIGINT = """
node = fs.start(**{options})
say("node", node.id)
ending()
os.kill(os.getpid(), signal.SIGINT)
threading.Event().wait()  # interrupted by KeyboardInterrupt
"""


class TestMainThreadEnds:
    def test_a_script_that_starts_a_memory_node_and_ends_exits(self, run_script: RunScript) -> None:
        done = run_script(ENDS, options={})
        assert done.returncode == 0, done.stderr
        assert done.stopped(done.value("node"))
        assert done.exit_seconds < IDLE_EXIT

    def test_a_script_using_fs_run_prints_its_value_and_exits(self, run_script: RunScript) -> None:
        done = run_script(
            """
            say("value", fs.run(pipeline, "quick"))
            ending()
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.value("value") == "quick"
        assert "node.stopped" in done.stdout
        assert done.exit_seconds < IDLE_EXIT

    @pytest.mark.parametrize("queues", [{}, {"assets": 2}], ids=["no-queues", "queues"])
    def test_a_script_that_starts_a_database_node_and_ends_exits(
        self, run_script: RunScript, database_url: str, queues: dict[str, int]
    ) -> None:
        done = run_script(ENDS, options={"database_url": database_url, "queues": queues})
        assert done.returncode == 0, done.stderr
        assert done.stopped(done.value("node"))
        assert done.exit_seconds < IDLE_EXIT
        assert heartbeats(database_url) == 0

    def test_every_live_node_is_stopped(self, run_script: RunScript, sqlite_url: str) -> None:
        done = run_script(
            """
            nodes = [fs.start(), fs.start(database_url={url}, queues={{"assets": 1}}), fs.start()]
            nodes[2].stop()  # already stopped: stopped once, not twice
            for node in nodes:
                say("node", node.id)
            ending()
            """,
            url=sqlite_url,
        )
        assert done.returncode == 0, done.stderr
        ids = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("node ")]
        assert all(done.stopped(node_id) for node_id in ids)
        assert done.stdout.count("node.stopped") == 3
        assert heartbeats(sqlite_url) == 0

    def test_a_forked_child_exits_without_stopping_its_parents_node(self, run_script: RunScript) -> None:
        """A child has none of its parent's threads: stopping their nodes would wait forever."""
        done = run_script(
            """
            import multiprocessing
            node = fs.start()
            child = multiprocessing.get_context("fork").Process(target=print, args=("child ran",))
            child.start()
            child.join(20)
            say("exitcode", child.exitcode)
            say("node", node.id)
            ending()
            """
        )
        assert done.returncode == 0, done.stderr
        assert "child ran" in done.stdout
        assert done.value("exitcode") == "0"
        assert done.stopped(done.value("node"))
        assert done.stdout.count("node.stopped") == 1  # by the parent only


class TestSigint:
    def test_sigint_stops_a_memory_node_and_exits(self, run_script: RunScript) -> None:
        done = run_script(SIGINT, options={})
        assert done.returncode in (1, -signal.SIGINT), done.stderr  # KeyboardInterrupt
        assert "KeyboardInterrupt" in done.stderr
        assert done.stopped(done.value("node"))
        assert done.exit_seconds < IDLE_EXIT

    def test_sigint_stops_a_node_with_queues_and_exits(
        self, run_script: RunScript, database_url: str
    ) -> None:
        done = run_script(SIGINT, options={"database_url": database_url, "queues": {"assets": 2}})
        assert done.returncode in (1, -signal.SIGINT), done.stderr  # KeyboardInterrupt
        assert "KeyboardInterrupt" in done.stderr
        assert done.stopped(done.value("node"))
        assert done.exit_seconds < IDLE_EXIT
        assert heartbeats(database_url) == 0

    def test_sigint_during_a_hung_run_abandons_it_after_the_grace(self, run_script: RunScript) -> None:
        done = run_script(
            """
            node = fs.start(shutdown_grace=0.5)
            say("node", node.id)

            def interrupt():
                started.wait()
                ending()
                os.kill(os.getpid(), signal.SIGINT)

            threading.Thread(target=interrupt, daemon=True).start()
            node.run(pipeline, "hung")
            """
        )
        assert done.returncode in (1, -signal.SIGINT), done.stderr  # KeyboardInterrupt
        assert "KeyboardInterrupt" in done.stderr
        assert done.stopped(done.value("node"))
        assert done.exit_seconds < 0.5 + EXIT_MARGIN


class TestWorkInFlight:
    def test_a_job_in_flight_finishes_within_the_grace_before_the_process_exits(
        self, run_script: RunScript, database_url: str, inspect_node: Callable[[], fs.Node]
    ) -> None:
        done = run_script(
            """
            node = fs.start(
                database_url={url}, queues={{"assets": 1}}, shutdown_grace=10.0, poll_interval=0.05
            )
            say("job", node.submit(pipeline, "slow").id)
            assert started.wait(30)
            ending()
            """,
            url=database_url,
        )
        assert done.returncode == 0, done.stderr
        assert "node.stopped" in done.stdout
        assert done.exit_seconds < 0.5 + IDLE_EXIT
        node = inspect_node()
        assert node.jobs.get(int(done.value("job"))).state == "completed"
        assert heartbeats(database_url) == 1  # the inspecting node's own

    def test_a_hung_job_is_abandoned_after_the_grace_and_left_for_rescue(
        self, run_script: RunScript, database_url: str, inspect_node: Callable[[], fs.Node]
    ) -> None:
        done = run_script(
            """
            node = fs.start(
                database_url={url}, queues={{"assets": 1}}, shutdown_grace=0.5, poll_interval=0.05
            )
            say("job", node.submit(pipeline, "hung").id)
            assert started.wait(30)
            ending()
            """,
            url=database_url,
        )
        assert done.returncode == 0, done.stderr
        assert "node.stopped" in done.stdout
        assert done.exit_seconds < 0.5 + EXIT_MARGIN
        node = inspect_node()
        assert node.jobs.get(int(done.value("job"))).state == "executing"  # as after SIGTERM

    def test_a_run_in_flight_in_another_thread_is_given_the_grace(
        self, run_script: RunScript, sqlite_url: str
    ) -> None:
        done = run_script(
            """
            node = fs.start(database_url={url}, shutdown_grace=10.0)
            threading.Thread(target=lambda: node.run(pipeline, "slow"), daemon=True).start()
            assert started.wait(30)
            ending()
            """,
            url=sqlite_url,
        )
        assert done.returncode == 0, done.stderr
        assert done.exit_seconds < 0.5 + IDLE_EXIT
        with fs.start(database_url=sqlite_url) as node:
            assert node.status(_pipeline(), "slow").state == "completed"


def _pipeline() -> fs.Pipeline:
    """The scripts' pipeline, as the parent process sees it (for reading the store)."""
    pipeline = fs.Pipeline("lifecycle")

    @pipeline.asset
    def slow(ctx: fs.Context) -> str:
        return "slow"

    return pipeline


class TestStop:
    """``node.stop()`` in process: the work gets the grace, the whole stop at most 1 s more."""

    def test_a_hung_materialization_is_abandoned_at_the_grace(self) -> None:
        pipeline = fs.Pipeline("hangs")
        started, release = threading.Event(), threading.Event()

        @pipeline.asset
        def hung(ctx: fs.Context) -> str:
            started.set()
            release.wait(30)
            return "late"

        node = fs.start(shutdown_grace=0.3)
        caller = threading.Thread(target=lambda: node.run(pipeline, "hung"), daemon=True)
        caller.start()
        try:
            assert started.wait(10)
            began = time.monotonic()
            node.stop()
            assert 0.3 <= time.monotonic() - began < 0.3 + MARGIN  # not a runner's 5 s on top
            assert not node.is_alive()
        finally:
            release.set()
            caller.join(10)

    def test_a_run_waiting_for_a_runner_fails_when_the_node_stops(self) -> None:
        """A run in another thread cannot go on after its node stopped: it raises rather
        than waiting forever for a runner (and keeping its thread, and the process, alive)."""
        pipeline = fs.Pipeline("chain")
        started = threading.Event()

        @pipeline.asset
        def first(ctx: fs.Context) -> int:
            started.set()
            threading.Event().wait(0.3)  # still at work when the stop begins
            return 1

        @pipeline.asset
        def second(ctx: fs.Context, first: int) -> int:
            return first + 1

        errors: list[BaseException] = []

        def run() -> None:
            try:
                node.run(pipeline, "second")
            except BaseException as exc:  # noqa: BLE001 - the test looks at it
                errors.append(exc)

        node = fs.start(shutdown_grace=5.0)
        caller = threading.Thread(target=run, daemon=True)  # a failure must not hang pytest
        caller.start()
        assert started.wait(10)
        node.stop()
        caller.join(10)
        assert not caller.is_alive()
        [error] = errors
        assert isinstance(error, fs.FlowStoneError)
        assert "stopping" in str(error)
        assert node.id in str(error)
