"""Helpers for the command-line tests: the pipeline file, subprocess environment, workers."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMMAND_TIMEOUT",
    "PIPELINE_SOURCE",
    "SHOP_SOURCE",
    "Database",
    "Flowstone",
    "StartWorker",
    "Worker",
    "child_env",
    "lines",
    "shop",
]

#: Seconds any one command may take; generous because a loaded machine starts slowly.
COMMAND_TIMEOUT = 90.0

PIPELINE_SOURCE = '''\
"""A pipeline for the CLI tests; assets talk to the test through files next to this one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import flowstone as fs

HERE = Path(__file__).resolve().parent
pipeline = fs.Pipeline("cli")


def record(name: str, line: str) -> None:
    with (HERE / name).open("a") as stream:
        stream.write(line + "\\n")


@pipeline.asset
def numbers(ctx: fs.Context) -> list[int]:
    record("calls.log", f"numbers {ctx.partition}")
    return [1, 2, 3, 4, 5]


@pipeline.asset
def doubled(ctx: fs.Context, numbers: list[int]) -> list[int]:
    record("calls.log", f"doubled {ctx.partition}")
    return [n * 2 for n in numbers]


@pipeline.asset(description="The sum of the doubled numbers")
def total(ctx: fs.Context, doubled: list[int]) -> int:
    record("calls.log", f"total {ctx.partition}")
    return sum(doubled)


@pipeline.asset
def daily(ctx: fs.Context, doubled: list[int]) -> str:
    if str(ctx.partition) == "2025-01-05":
        raise ValueError("no sales data for 2025-01-05")
    return f"{ctx.partition}: {sum(doubled)}"


@pipeline.asset
def big(ctx: fs.Context) -> dict[str, object]:
    return {"rows": list(range(1000)), "name": "x" * 1000}


@pipeline.asset
def blocker(ctx: fs.Context) -> str:
    """Records its start, waits for the file ``release`` (bounded), records its end."""
    record("started", str(ctx.partition))
    deadline = time.monotonic() + 60.0
    waiting = threading.Event()
    while not (HERE / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never created the release file")
        waiting.wait(0.02)
    record("completed", str(ctx.partition))
    return f"released {ctx.partition}"
'''


#: A module under ``mypipes/`` (the issue's example): ``daily_report`` fails for two days,
#: once (no retry), so a durable backfill of it ends quickly.
SHOP_SOURCE = """\
from pathlib import Path

import flowstone as fs

HERE = Path(__file__).resolve().parent
pipeline = fs.Pipeline("shop")


@pipeline.asset
def orders(ctx: fs.Context) -> int:
    return 3


@pipeline.asset(retry=fs.Retry(max_attempts=1))
def daily_report(ctx: fs.Context, orders: int) -> str:
    with (HERE / "reports.log").open("a") as stream:
        stream.write(f"{ctx.partition}\\n")
    if str(ctx.partition) in ("2025-05-02", "2025-05-04"):
        raise ValueError(f"no orders exported for {ctx.partition}")
    return f"{ctx.partition}: {orders} orders"
"""


def shop(project: Path, *, package: bool = False) -> Path:
    """``project/mypipes/shop.py`` (``mypipes`` a namespace package, or a regular one)."""
    folder = project / "mypipes"
    folder.mkdir(exist_ok=True)
    if package:
        (folder / "__init__.py").write_text("")
    (folder / "shop.py").write_text(SHOP_SOURCE)
    return folder


def lines(path: Path) -> list[str]:
    """The lines of a file an asset appends to (none if it does not exist yet)."""
    return path.read_text().splitlines() if path.exists() else []


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess: no inherited database, wide rich tables."""
    env = {k: v for k, v in os.environ.items() if k != "FLOWSTONE_DATABASE_URL"}
    return {**env, "COLUMNS": "200", "PYTHONUNBUFFERED": "1", **extra}


@dataclass(frozen=True, slots=True)
class Database:
    """Where a test's data lives: ``url`` for this process, ``args`` for the command line.

    On SQLite the commands get no ``--database-url`` at all: they use the embedded
    default in their cwd, which ``url`` names absolutely.
    """

    url: str
    args: tuple[str, ...]


class Worker:
    """A ``python -m flowstone worker`` subprocess; its stderr goes to a file."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait(timeout=20)


#: ``flowstone(*args, env=None)``: one command run to completion in the project directory.
Flowstone = Callable[..., subprocess.CompletedProcess[str]]
#: ``start_worker(module, *args, database=...)``: a worker subprocess.
StartWorker = Callable[..., Worker]
