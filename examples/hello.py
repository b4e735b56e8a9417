"""The smallest FlowStone pipeline: numbers → doubled → total (== 30), run on a node.

Usage::

    .venv/bin/python examples/hello.py
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs

pipeline = fs.Pipeline("hello")


@pipeline.asset
def numbers(ctx: fs.Context) -> list[int]:
    """The input numbers."""
    return [1, 2, 3, 4, 5]


@pipeline.asset  # the dependency comes from the parameter name
def doubled(ctx: fs.Context, numbers: list[int]) -> list[int]:
    """Each number times two."""
    return [n * 2 for n in numbers]


@pipeline.asset(depends_on=["doubled"], description="Total", retry=fs.Retry(max_attempts=3))
def total(ctx: fs.Context, doubled: list[int]) -> int:
    return sum(doubled)


def main() -> int:
    # The library never configures logging; a script decides how loud it is.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with fs.start() as node:
        value = node.run(pipeline, "total")
        status = node.status(pipeline, "total")
        print(f"total = {value}")
        print(f"status: {status.state} (run {status.run_id}, {status.attempts} attempt(s))")
        print("lineage of total:")
        for ref in node.lineage.upstream(pipeline, "total"):
            print(f"  {'  ' * (ref.depth - 1)}← {ref.asset} (depth {ref.depth})")
    return 0 if value == 30 else 1


if __name__ == "__main__":
    sys.exit(main())
