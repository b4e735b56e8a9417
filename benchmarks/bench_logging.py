"""Benchmark the cost of a log call below the host's level, through stdlib routing.

Issue 22 wants events below the configured level never built; issue 21 routes them to
stdlib ``logging``. This times ``log.debug("event", key=value)`` under
``logging.basicConfig(level=WARNING)`` on a bound logger:

- ours: ``supervisors._stdlib_log.build_logger`` (the level checked before any processor);
- baseline: structlog's documented stdlib set-up, ``structlog.stdlib.BoundLogger`` with
  ``filter_by_level`` as the first processor (the event dict is built, then dropped);
- floor: ``structlog.make_filtering_bound_logger(WARNING)`` (a no-op method, level fixed
  at configuration time, so it cannot follow the host's logging level);
- the never-fatal proxy ``supervisors._log.get_logger`` in front of ours, for information.

All are timed in the same run; medians of 7 repeats.

Usage::

    .venv/bin/python benchmarks/bench_logging.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import structlog

from supervisors._log import get_logger
from supervisors._stdlib_log import build_logger


def _median_ns(call: Callable[[], Any], number: int) -> float:
    return statistics.median(timeit.repeat(call, number=number, repeat=7)) / number * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    number = 20_000 if parser.parse_args().quick else 200_000
    logging.basicConfig(level=logging.WARNING)
    ours = build_logger("flowstone.bench").bind(run_id="r", asset="a")
    proxied = get_logger("flowstone.bench").bind(run_id="r", asset="a")
    baseline = structlog.wrap_logger(
        logging.getLogger("flowstone.bench"),
        wrapper_class=structlog.stdlib.BoundLogger,
        processors=[structlog.stdlib.filter_by_level, structlog.stdlib.render_to_log_kwargs],
    ).bind(run_id="r", asset="a")
    floor = structlog.wrap_logger(
        None, wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    ).bind(run_id="r", asset="a")
    figures = {
        "ours": _median_ns(lambda: ours.debug("event", key=1), number),
        "structlog.stdlib baseline": _median_ns(lambda: baseline.debug("event", key=1), number),
        "filtering-bound floor": _median_ns(lambda: floor.debug("event", key=1), number),
        "ours behind the proxy": _median_ns(lambda: proxied.debug("event", key=1), number),
    }
    base = figures["structlog.stdlib baseline"]
    for name, value in figures.items():
        print(f"{name:28} {value:8.0f} ns/call   ratio to baseline {value / base:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
