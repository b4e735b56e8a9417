"""A small supervision tree: workers crash and their supervisors restart them.

The tree::

    app (rest_for_one)
    ├── db      [worker]
    ├── cache   [worker]
    └── jobs    (dynamic_supervisor)
        ├── job [worker]  x3

First one job crashes: ``jobs`` (one_for_one) restarts just that job. Then ``cache``
crashes: under ``rest_for_one`` the root stops ``jobs`` (started after ``cache``) and
restarts ``cache`` and ``jobs`` in order, while ``db`` (started before) keeps running
untouched. ``jobs``'s start function adds its three jobs again.

Usage::

    .venv/bin/python examples/supervision_tree.py [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

import structlog

from supervisors import (
    Actor,
    ChildSpec,
    DynamicSupervisor,
    Supervisor,
    SupervisorRef,
    monitor,
    render_tree,
)

JOBS = 3


class Worker(Actor):
    """Answers ``"ping"`` with its name; raises on ``"crash"``."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError(f"{self.name} crashed on purpose")
        return f"pong from {self.name}"


def start_jobs() -> SupervisorRef:
    """Start the ``jobs`` dynamic supervisor with its workers (also on every restart)."""
    jobs = DynamicSupervisor.start(name="jobs")
    for number in range(JOBS):
        jobs.start_child(ChildSpec("job", lambda n=number: Worker.start(f"job-{n}")))
    return jobs


def crash(ref: Any) -> None:
    """Make ``ref``'s actor crash and return once it has finished exiting.

    Its supervisor's monitor was registered first, so it has been told of the exit by
    the time ours fires: the supervisor answers the next call after it has restarted.
    """
    gone = threading.Event()
    monitor(ref, lambda _down: gone.set())
    ref.tell("crash")
    if not gone.wait(timeout=5):
        raise SystemExit(f"{ref} did not crash")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print the library's log events")
    args = parser.parse_args(argv)
    if not args.verbose:
        structlog.configure(logger_factory=structlog.ReturnLoggerFactory())

    app = Supervisor.start(
        [
            ChildSpec("db", lambda: Worker.start("db")),
            ChildSpec("cache", lambda: Worker.start("cache")),
            ChildSpec("jobs", start_jobs, type="supervisor"),
        ],
        strategy="rest_for_one",
        name="app",
    )
    try:
        print("before:")
        print(render_tree(app.tree()))

        jobs = app.whereis("jobs")
        crash(jobs.which_children()[0].ref)  # jobs (one_for_one) restarts only this job
        print(f"\nafter a job crashed ({jobs.which_children()[0].ref.ask('ping')}):")
        print(render_tree(app.tree()))

        db = app.whereis("db")
        crash(app.whereis("cache"))  # rest_for_one: cache and jobs restart, db does not
        print(f"\nafter cache crashed ({app.whereis('cache').ask('ping')}):")
        print(render_tree(app.tree()))
        print(f"db kept running: {app.whereis('db') is db}; jobs restarted: {app.whereis('jobs') != jobs}")
    finally:
        app.stop(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
