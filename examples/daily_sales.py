"""Daily sales: a partitioned pipeline backfilled over a month.

``raw_orders`` are generated deterministically from the day (the same day always gives
the same orders), ``cleaned`` drops cancelled and empty orders, ``revenue`` sums
what is left. The script backfills January 2025 with four partitions in flight, then
prints the revenue per day, the lineage of one day, the node's supervision tree and its
health report.

Usage::

    .venv/bin/python examples/daily_sales.py [--verbose] [--database-url URL]
    flowstone run examples/daily_sales.py:pipeline revenue --partition 2025-01-05
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import flowstone as fs

MONTH = ("2025-01-01", "2025-01-31")
SKUS = {"espresso": 250, "latte": 380, "croissant": 290, "bagel": 310, "tea": 220}

pipeline = fs.Pipeline("daily_sales", description="Orders per day → cleaned → revenue per day")


@pipeline.asset
def raw_orders(ctx: fs.Context) -> list[dict[str, Any]]:
    """Orders of one day, as the till exported them (generated from the date)."""
    day = ctx.partition
    if not isinstance(day, date):
        raise TypeError(f"raw_orders is partitioned by day: run it with a date partition, not {day!r}")
    rng = random.Random(day.toordinal())  # deterministic: the same day, the same orders
    orders = []
    for number in range(rng.randint(40, 120)):
        sku = rng.choice(sorted(SKUS))
        orders.append(
            {
                "order_id": f"{day:%Y%m%d}-{number:04d}",
                "sku": sku,
                "quantity": rng.choice([0, 1, 1, 1, 2, 2, 3]),
                "unit_price_cents": SKUS[sku],
                "cancelled": rng.random() < 0.05,
            }
        )
    ctx.log.info("orders.generated", count=len(orders))
    return orders


@pipeline.asset
def cleaned(ctx: fs.Context, raw_orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Orders that were paid: not cancelled, at least one item."""
    kept = [order for order in raw_orders if not order["cancelled"] and order["quantity"] > 0]
    ctx.log.info("orders.cleaned", kept=len(kept), dropped=len(raw_orders) - len(kept))
    return kept


@pipeline.asset(retry=fs.Retry(max_attempts=3, backoff="exponential", base_delay=0.1, jitter=0.1))
def revenue(ctx: fs.Context, cleaned: list[dict[str, Any]]) -> dict[str, Any]:
    """Revenue of one day, in cents, with the order and item counts."""
    return {
        "day": ctx.partition,
        "orders": len(cleaned),
        "items": sum(order["quantity"] for order in cleaned),
        "revenue_cents": sum(order["quantity"] * order["unit_price_cents"] for order in cleaned),
    }


class Progress:
    """A backfill progress callback: a one-line counter on stderr.

    On a terminal the line is redrawn in place (``\\r``); in a pipe or a CI log only the
    final count is written, as one plain line.
    """

    def __init__(self, *, live: bool | None = None) -> None:
        self.calls = 0
        self.live = sys.stderr.isatty() if live is None else live

    def __call__(self, done: int, total: int | None) -> None:
        self.calls += 1
        shown = "?" if total is None else str(total)
        line = f"  backfill: {done}/{shown} partitions"
        if self.live:
            print(f"\r{line}", end="\n" if done == total else "", file=sys.stderr, flush=True)
        elif done == total:
            print(line, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="show FlowStone's info logs")
    parser.add_argument(
        "--database-url",
        help="store records and values in this database (e.g. sqlite:///flowstone.db); default: in memory",
    )
    return parser.parse_args(argv)


def start_node(database_url: str | None) -> fs.Node | None:
    """Start a node; with a database URL only if this FlowStone version supports one."""
    if database_url is None:
        return fs.start(name="daily-sales")
    try:
        return fs.start(name="daily-sales", database_url=database_url)
    except TypeError:
        print(
            f"error: --database-url {database_url!r}: this FlowStone version has no database store "
            "yet (fs.start does not accept database_url); run without it to use memory",
            file=sys.stderr,
        )
    except fs.FlowStoneError as exc:
        print(f"error: cannot start a node on {database_url!r}: {exc}", file=sys.stderr)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The library never configures logging: the script does. Logs go to stderr, results to
    # stdout, so the table can be piped.
    level = logging.INFO if args.verbose else logging.WARNING
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )

    node = start_node(args.database_url)
    if node is None:
        return 2
    with node:
        # Typed events, e.g. for metrics: count what the runners did.
        counts: Counter[str] = Counter()
        lock = threading.Lock()

        def count(event: fs.events.Event) -> None:
            with lock:
                counts[type(event).__name__] += 1

        days = list(fs.partitions.daily(*MONTH))
        started = time.perf_counter()
        with node.events.subscribe(count):
            report = node.backfill(pipeline, "revenue", days, parallel=4, progress=Progress())
        elapsed = time.perf_counter() - started

        print(
            f"\nBackfill of {len(days)} days in {elapsed * 1000:.0f} ms: {report.succeeded} succeeded, "
            f"{report.skipped} skipped (already stored), {report.failed} failed, {report.timed_out} timed out"
        )
        print(f"events: {dict(sorted(counts.items()))}")
        for failure in report.failures:
            print(f"  {failure.partition}: {failure.status}: {failure.error}")

        print(f"\n{'day':<12} {'orders':>6} {'items':>6} {'revenue':>10}")
        month_cents = 0
        for day in days:
            if not node.exists(pipeline, "revenue", day):
                print(f"{day.isoformat():<12} {'-':>6} {'-':>6} {'-':>10}")
                continue
            row = node.get(pipeline, "revenue", day)
            month_cents += row["revenue_cents"]
            cells = f"{row['orders']:>6} {row['items']:>6} {row['revenue_cents'] / 100:>10.2f}"
            print(f"{day.isoformat():<12} {cells}")
        print(f"{'month':<12} {'':>6} {'':>6} {month_cents / 100:>10.2f}")

        one_day = date(2025, 1, 15)
        status = node.status(pipeline, "revenue", one_day)
        print(f"\nLineage of revenue[{one_day}] ({status.state}, run {status.run_id}):")
        for ref in node.lineage.upstream(pipeline, "revenue", one_day):
            print(f"  {'  ' * (ref.depth - 1)}← {ref.asset}[{fs.partitions.describe(ref.partition)}]")

        print("\nSupervision tree:")
        print(node.render_tree())

        health = node.health()
        print(f"\nHealth: {health.status}")
        for name, check in health.checks.items():
            mark = "ok  " if check.ok else "FAIL"
            print(f"  {mark} {name:<17} {check.detail} ({check.latency_ms:.2f} ms)")
    return 0 if report.failed == report.timed_out == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
