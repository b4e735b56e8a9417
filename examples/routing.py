"""Conditional routing: small days take the fast path, busy days the slow one; a report
takes whichever ran (docs/routing.md).

Usage::

    .venv/bin/python examples/routing.py
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs

pipeline = fs.Pipeline("routing-example")


@pipeline.asset
def orders(ctx: fs.Context) -> list[int]:
    """A day's orders: busier at the weekend."""
    count = 150 if ctx.partition_date.weekday() >= 5 else 40
    return list(range(count))


@pipeline.router(branches=("fast", "slow"), on_error=fs.Fallback("slow"))
def size(ctx: fs.Context, orders: list[int]) -> str:
    """Small days take the fast path."""
    return "fast" if len(orders) < 100 else "slow"


@pipeline.asset(routed_from="size")
def fast(ctx: fs.Context, orders: list[int]) -> dict[str, Any]:
    return {"orders": len(orders), "path": "fast"}


@pipeline.asset(routed_from="size")
def slow(ctx: fs.Context, orders: list[int]) -> dict[str, Any]:
    return {"orders": len(orders), "path": "slow"}


@pipeline.asset(optional=("fast", "slow"))
def report(ctx: fs.Context, fast: dict[str, Any] | None, slow: dict[str, Any] | None) -> str:
    """Whichever branch ran for the day."""
    chosen = fast or slow
    assert chosen is not None
    return f"{ctx.partition}: {chosen['orders']} orders by the {chosen['path']} path"


def main() -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    days = list(fs.partitions.daily("2025-01-03", "2025-01-06"))
    with fs.start() as node:
        backfill = node.backfill(pipeline, "report", days)
        for day in days:
            print(node.get(pipeline, "report", day))
        skipped = [str(day) for day in days if node.status(pipeline, "slow", day).state == "skipped"]
        print(f"slow skipped on {', '.join(skipped)}")
        print(f"backfill: {backfill.succeeded} succeeded, {backfill.failed} failed")
        print(fs.graph(pipeline, "ascii"))
    return 0 if backfill.succeeded == len(days) and len(skipped) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
