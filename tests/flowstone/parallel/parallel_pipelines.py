"""The pipelines the parallel-branch tests share."""

from __future__ import annotations

from typing import Any

import flowstone as fs


def two_reports(
    joins: list[dict[str, fs.BranchResult]],
    *,
    eu: Any = None,
    us: Any = None,
    name: str = "reports",
    **parallel: Any,
) -> fs.Pipeline:
    """orders → eu_report, us_report (branches) → reports (the join). ``eu``/``us`` run
    inside their branch's final asset (to block, to fail) before it returns."""
    p = fs.Pipeline(name)

    @p.asset
    def orders(ctx: fs.Context) -> list[int]:
        return [3, 4, 5]

    @p.asset
    def eu_report(ctx: fs.Context, orders: list[int]) -> int:
        if eu is not None:
            eu()
        return sum(orders)

    @p.asset
    def us_report(ctx: fs.Context, orders: list[int]) -> int:
        if us is not None:
            us()
        return len(orders)

    parallel.setdefault("branches", {"eu": "eu_report", "us": "us_report"})

    @p.parallel(**parallel)
    def reports(ctx: fs.Context, branches: dict[str, fs.BranchResult], orders: list[int]) -> dict[str, Any]:
        joins.append(dict(branches))
        return {name: b.value for name, b in branches.items() if b.ok}

    return p


def _boom() -> None:
    raise ValueError("no EU data")


# Module-level pipelines, which a worker can import: their branches may run as jobs.
JOINS: list[dict[str, fs.BranchResult]] = []
as_jobs = two_reports(JOINS, name="as_jobs")
FAILED_JOINS: list[dict[str, fs.BranchResult]] = []
failing_as_jobs = two_reports(FAILED_JOINS, eu=_boom, name="failing_as_jobs")
