"""Pipelines with sensors for the sensor tests, importable by module."""

from __future__ import annotations

import threading
from typing import Any

import flowstone as fs


class Feed:
    """What the test sensors read: a list of items the test appends to, and failure switches."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.fail_next = 0
        self.cursors: list[Any] = []
        self.block: threading.Event | None = None

    def poll(self, cursor: Any) -> fs.SensorResult:
        self.cursors.append(cursor)
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("the feed is down")
        start = 0 if cursor is None else int(cursor)
        new = self.items[start:]
        return fs.SensorResult(partitions=new, cursor=start + len(new))


FEED = Feed()

ingest = fs.Pipeline("ingest")


@ingest.asset
def loaded(ctx: fs.Context) -> str:
    ctx.resources["recorder"].add(ctx.partition)
    return str(ctx.partition)


@ingest.sensor(target="loaded", interval=30.0)
def new_items(ctx: fs.SensorContext, cursor: Any) -> fs.SensorResult:
    return FEED.poll(cursor)


after = fs.Pipeline("after")


@after.asset
def raw(ctx: fs.Context) -> str:
    return str(ctx.partition)


@after.asset
def cleaned(ctx: fs.Context) -> str:
    ctx.resources["recorder"].add(ctx.partition)
    return str(ctx.partition)


after.sensor(fs.sensors.asset_materialized(after, "raw", target="cleaned"), interval=5.0)
