"""Pipelines for ``bench_jobs.py``, in a module so that worker processes can import them."""

from __future__ import annotations

import time

import flowstone as fs

pipeline = fs.Pipeline("bench_jobs")

#: ``time.perf_counter()`` when each ``stamp`` job started (in the process running it).
STARTS: list[float] = []


@pipeline.asset
def noop(ctx: fs.Context) -> None:
    """A job that does nothing: what is left is the job layer's cost."""


@pipeline.asset
def stamp(ctx: fs.Context) -> None:
    """Records when it started, for the pick-up latency."""
    STARTS.append(time.perf_counter())
