"""Pipelines for the job tests, importable as ``job_pipelines`` by the tests and by workers.

Jobs name their pipeline by import path, so these live at module level. The in-process
assets report to a ``Probe`` handed to the node as the ``probe`` resource, which records
every call and lets a test steer an asset (fail, snooze, block) through a hook. The
``blocker``, ``slow``, ``noop`` and ``killer`` assets run in worker subprocesses and talk to
the test through files in ``$FS_JOBS_DIR``; ``enriched`` and ``daily_report`` run in both.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flowstone as fs

__all__ = ["Call", "Probe", "pipeline"]

pipeline = fs.Pipeline("jobs")

Hook = Callable[[fs.Context, int], None]


@dataclass(frozen=True, slots=True)
class Call:
    """One call of an in-process asset."""

    asset: str
    partition: Any
    attempt: int
    at: float  # time.time() when the call started


@dataclass
class Probe:
    """Records calls of the in-process assets; ``hooks[asset](ctx, nth_call)`` may raise or block.

    ``gate`` is an event hooks may wait on; the fixtures set it before stopping nodes so
    no job is left blocked.
    """

    hooks: dict[str, Hook] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    active: int = 0
    max_active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, ctx: fs.Context) -> None:
        with self._lock:
            self.calls.append(Call(ctx.asset, ctx.partition, ctx.attempt, time.time()))
            nth = sum(1 for c in self.calls if (c.asset, c.partition) == (ctx.asset, ctx.partition))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            hook = self.hooks.get(ctx.asset)
            if hook is not None:
                hook(ctx, nth)
        finally:
            with self._lock:
                self.active -= 1

    def of(self, asset: str, partition: Any = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if (c.asset, c.partition) == (asset, partition)]

    def started(self, asset: str) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c.asset == asset)

    def block(self, ctx: fs.Context, nth: int) -> None:
        """A hook: wait for ``gate`` (bounded, so a broken test cannot hang a worker)."""
        if not self.gate.wait(30.0):
            raise TimeoutError("the test never opened the gate")

    def hold(self, asset: str) -> threading.Event:
        """Make ``asset`` wait for ``gate``; the event is set once it has started."""
        entered = threading.Event()

        def hook(ctx: fs.Context, nth: int) -> None:
            entered.set()
            self.block(ctx, nth)

        self.hooks[asset] = hook
        return entered


def _probe(ctx: fs.Context) -> None:
    probe: Probe = ctx.resources["probe"]
    probe(ctx)


@pipeline.asset
def value(ctx: fs.Context) -> str:
    """No retry of its own: jobs of it get the node's ``job_retry``."""
    _probe(ctx)
    return f"value:{ctx.partition}"


@pipeline.asset(retry=fs.Retry(max_attempts=3, base_delay=0.05, backoff="constant"))
def flaky(ctx: fs.Context) -> str:
    _probe(ctx)
    return f"flaky:{ctx.partition}"


@pipeline.asset(retry=fs.Retry(max_attempts=3, base_delay=0.01, backoff="constant"))
def poison(ctx: fs.Context) -> str:
    _probe(ctx)
    raise RuntimeError(f"poison on attempt {ctx.attempt}")


@pipeline.asset(unique=fs.Unique(period=60, keys=("asset", "partition")))
def unique_value(ctx: fs.Context) -> str:
    _probe(ctx)
    return f"unique:{ctx.partition}"


# --- assets run by worker subprocesses -------------------------------------------------
def _dir() -> Path:
    return Path(os.environ["FS_JOBS_DIR"])


def _append(name: str, line: str) -> None:
    with (_dir() / name).open("a") as stream:
        stream.write(line + "\n")
        stream.flush()


# --- a pipeline with an upstream retry policy, run in-process and by workers -----------
def _called(ctx: fs.Context) -> None:
    """Tell the probe (in-process) or the file ``calls.log`` (a worker subprocess)."""
    probe = ctx.resources.get("probe")
    if probe is not None:
        probe(ctx)
    else:
        _append("calls.log", f"{ctx.asset} {ctx.partition} {ctx.attempt}")


@pipeline.asset(retry=fs.Retry(max_attempts=3, base_delay=0.0))
def enriched(ctx: fs.Context) -> str:
    """Fails on its first two attempts: its own policy gives it three."""
    _called(ctx)
    if ctx.attempt < 3:
        raise ConnectionError(f"enrichment service down (attempt {ctx.attempt})")
    return f"enriched:{ctx.partition}"


@pipeline.asset
def daily_report(ctx: fs.Context, enriched: str) -> str:
    _called(ctx)
    return f"report of {enriched}"


@pipeline.asset(retry=fs.Retry(max_attempts=2, base_delay=0.0))
def broken_upstream(ctx: fs.Context) -> str:
    _called(ctx)
    raise ConnectionError(f"always down (attempt {ctx.attempt})")


@pipeline.asset
def needs_broken(ctx: fs.Context, broken_upstream: str) -> str:
    _called(ctx)
    return broken_upstream


@pipeline.asset
def blocker(ctx: fs.Context) -> str:
    """Records its start, waits for the file ``release``, then records its completion."""
    _append("started", f"{os.getpid()} {ctx.attempt}")
    release = _dir() / "release"
    waited = threading.Event()
    deadline = time.monotonic() + 60.0
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released the blocker")
        waited.wait(0.02)
    _append("completed", f"{os.getpid()} {ctx.attempt}")
    return f"blocker:{ctx.partition}"


@pipeline.asset
def slow(ctx: fs.Context) -> str:
    """Takes about a second (the workload of the graceful-shutdown test)."""
    _append("slow-started", str(os.getpid()))
    threading.Event().wait(1.0)
    _append("slow-finished", str(os.getpid()))
    return "slow"


@pipeline.asset(retry=fs.Retry(max_attempts=3, base_delay=0.0))
def killer(ctx: fs.Context) -> None:
    """Kills its worker process at once, as a crashing C library or the OOM killer would."""
    _append("killer", f"{os.getpid()} {ctx.attempt}")
    os._exit(13)


@pipeline.asset
def noop(ctx: fs.Context) -> None:
    """Appends its partition to this process's log: one line per completed call."""
    _append(f"noop-{os.getpid()}.log", str(ctx.partition))
