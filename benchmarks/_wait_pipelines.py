"""The pipeline of ``bench_waits.py``, importable by its child process as ``_wait_pipelines``.

``gated`` waits on a gate; ``downstream`` records when it starts (``time.time()``, so that
another process on the same machine can compare) in the ``starts`` resource.
"""

from __future__ import annotations

import time
from typing import Any

import flowstone as fs

pipeline = fs.Pipeline("bench_waits")


@pipeline.asset
def gated(ctx: fs.Context) -> Any:
    return ctx.gate("callback", timeout=3600)


@pipeline.asset
def downstream(ctx: fs.Context, gated: Any) -> Any:
    ctx.resources["starts"](ctx.partition, time.time())
    return gated


@pipeline.asset
def plain(ctx: fs.Context) -> float:
    return time.time()


@pipeline.asset
def after_plain(ctx: fs.Context, plain: float) -> float:
    ctx.resources["starts"](ctx.partition, time.time())
    return plain
