"""A pipeline of isolated assets, at module level so worker processes import it by name."""

from __future__ import annotations

import ctypes
import os
import threading

import flowstone as fs

pipeline = fs.Pipeline("isolated")


@pipeline.asset(isolation="process")
def numbers(ctx: fs.Context) -> list[int]:
    return [1, 2, 3]


@pipeline.asset(isolation="process")
def doubled(ctx: fs.Context, numbers: list[int]) -> dict[str, object]:
    return {"values": [n * 2 for n in numbers], "pid": os.getpid(), "attempt": ctx.attempt}


@pipeline.asset(isolation="process")
def segfaults(ctx: fs.Context) -> None:
    ctypes.string_at(0)


@pipeline.asset(isolation="process")
def exits(ctx: fs.Context) -> None:
    os._exit(9)


@pipeline.asset(isolation="process")
def raises(ctx: fs.Context) -> None:
    raise KeyError("missing thing")


@pipeline.asset(isolation="process", timeout=0.5)
def hogs(ctx: fs.Context) -> None:
    hoard = bytearray(200 * 1024 * 1024)  # 200 MiB, touched so that it is resident
    for index in range(0, len(hoard), 4096):
        hoard[index] = 1
    threading.Event().wait()  # hangs past its timeout


@pipeline.asset
def where(ctx: fs.Context) -> int:  # no isolation of its own: the node's default
    return os.getpid()
