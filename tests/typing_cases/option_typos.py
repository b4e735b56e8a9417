"""Mistakes ``mypy --strict`` must reject; each ``# E:`` names the error expected on its line."""

from __future__ import annotations

import flowstone as fs

pipeline = fs.Pipeline("typos")


@pipeline.asset(retries=3)  # E: Unexpected keyword argument "retries"
def numbers(ctx: fs.Context) -> list[int]:
    return [1, 2, 3]


@pipeline.asset(timeout="soon")  # E: No overload variant of "asset" of "Pipeline" matches argument type "str"
def late(ctx: fs.Context) -> int:
    return 1


@pipeline.router(branchs=("a", "b"))  # E: Unexpected keyword argument "branchs"
def choose(ctx: fs.Context) -> str:
    return "a"


def misuse(ctx: fs.Context) -> None:
    text: str = ctx.partition_date  # E: Incompatible types in assignment
    ctx.log.infoo("x")  # E: has no attribute "infoo"
    del text


@pipeline.asset
def total(ctx: fs.Context) -> int:
    return 6


node = fs.start(max_paralel=3)  # E: Unexpected keyword argument "max_paralel" for "start"
count: str = node.run(pipeline, total)  # E: Incompatible types in assignment (expression has type "int"
stored: str = node.get(pipeline, total)  # E: Incompatible types in assignment (expression has type "int"
tested: str = fs.testing.run_asset(pipeline, total)  # E: Incompatible types in assignment
handle: fs.RunHandle[str] = node.submit(pipeline, total)  # E: Argument 2 to "submit"
