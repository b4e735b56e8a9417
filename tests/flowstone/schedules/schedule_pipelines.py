"""Pipelines for the schedule tests, importable by module (durable jobs name them so)."""

from __future__ import annotations

import threading
from typing import Any

import flowstone as fs


class Recorder:
    """Counts the partitions the assets were run for; tests wait on it, never sleep."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self._changed = threading.Condition()

    def add(self, partition: Any) -> None:
        with self._changed:
            self.seen.append(partition)
            self._changed.notify_all()

    def wait(self, count: int, timeout: float = 20.0) -> list[Any]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.seen) >= count, timeout):
                raise TimeoutError(f"{len(self.seen)} of {count} runs in {timeout} s: {self.seen}")
            return list(self.seen)


reports = fs.Pipeline("reports")


@reports.asset
def hourly(ctx: fs.Context) -> str:
    ctx.resources["recorder"].add(ctx.partition)
    return str(ctx.partition)


@reports.asset
def daily(ctx: fs.Context) -> str:
    ctx.resources["recorder"].add(ctx.partition)
    return str(ctx.partition)
