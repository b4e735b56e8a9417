"""A partitioned pipeline written for ``mypy --strict``: no cast, no ``Any`` leaking out."""

from __future__ import annotations

import datetime as dt

import flowstone as fs

pipeline = fs.Pipeline("typed_sales")


@pipeline.asset(partitions=[dt.date(2025, 1, 1), dt.date(2025, 1, 2)], retry=fs.Retry(max_attempts=2))
def orders(ctx: fs.Context) -> list[int]:
    day: dt.date = ctx.partition_date
    ctx.log.info("orders.loaded", day=day.isoformat())
    return [day.day, day.month]


@pipeline.asset
def total(ctx: fs.Context, orders: list[int]) -> int:
    return sum(orders)


@pipeline.asset(partitions=["eu", "us"])
def region_name(ctx: fs.Context) -> str:
    return ctx.partition_str.upper()


def main() -> None:
    with fs.start(max_concurrency=2, name="typed") as node:
        value: int = node.run(pipeline, total, partition=dt.date(2025, 1, 2))
        name: str = node.run(pipeline, region_name, partition="eu")
        assert (value, name) == (3, "EU")
        stored: list[int] = node.get(pipeline, orders, dt.date(2025, 1, 2))
        assert stored == [2, 1]


def unit_test() -> None:
    doubled: int = fs.testing.run_asset(pipeline, total, deps={"orders": [1, 2]})
    result: fs.testing.Materialization[int] = fs.testing.materialize(
        pipeline, total, upstream={"orders": [4]}, partition=dt.date(2025, 1, 1)
    )
    assert (doubled, result.value) == (3, 4)


def submit_later(node: fs.Node) -> int:
    handle: fs.RunHandle[int] = node.submit(pipeline, total, partition=dt.date(2025, 1, 1))
    return handle.wait(timeout=5.0) + 1


if __name__ == "__main__":
    main()
    unit_test()
