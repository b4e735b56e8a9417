"""A sensor for the kill -9 test: in the child process (``FS_CRASH_MARKER`` set) it computes
its result, says so in the marker file, and never returns, so the process is killed between
the poll and its commit."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import flowstone as fs

crashing = fs.Pipeline("crashing")
ITEMS = ["a", "b", "c"]


@crashing.asset
def landed(ctx: fs.Context) -> str:
    return str(ctx.partition)


@crashing.sensor(target="landed", interval=1.0)
def arrivals(ctx: fs.SensorContext, cursor: Any) -> fs.SensorResult:
    result = fs.SensorResult(partitions=ITEMS, cursor=len(ITEMS))
    marker = os.environ.get("FS_CRASH_MARKER")
    if marker:
        Path(marker).write_text(f"polled with {cursor!r}")
        threading.Event().wait()  # killed here, before the commit
    return result


if __name__ == "__main__":
    node = fs.start(database_url=sys.argv[1], pipelines=[crashing], poll_interval=0.05)
    threading.Event().wait()
