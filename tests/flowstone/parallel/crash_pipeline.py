"""A pipeline whose join kills its process the first time (``CRASH_JOIN=1``): the crash
between the branches' end and the join. Each branch and the join append a line to a
file under ``COUNTS`` every time they run, so a test can count them across processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import flowstone as fs

pipeline = fs.Pipeline("crashing_join")


def _count(what: str) -> None:
    with (Path(os.environ["COUNTS"]) / what).open("a") as f:
        f.write("x\n")


@pipeline.asset
def eu_report(ctx: fs.Context) -> int:
    _count("eu")
    return 12


@pipeline.asset
def us_report(ctx: fs.Context) -> int:
    _count("us")
    return 3


@pipeline.parallel(branches={"eu": "eu_report", "us": "us_report"})
def reports(ctx: fs.Context, branches: dict[str, fs.BranchResult]) -> dict[str, Any]:
    if os.environ.get("CRASH_JOIN") == "1":
        os._exit(17)  # the process dies with every branch ended and the join not done
    _count("join")
    return {name: (b.ok, b.value, b.error) for name, b in branches.items()}


if __name__ == "__main__":
    with fs.start(database_url=os.environ["DATABASE_URL"], wait_tick=0.02) as node:
        node.run(pipeline, "reports", timeout=30)
