"""Helpers for testing pipelines and jobs (docs/testing.md).

- ``run_asset``: call one asset's function with given inputs, without a node;
- ``materialize``: run one asset through the real engine with given upstream values;
- ``drain``, ``assert_enqueued``, ``refute_enqueued``: durable jobs in the calling thread;
- ``ManualClock``: the wall clock of schedules and sensors, moved by hand;
- the pytest plugin (``flowstone._testing.plugin``, installed with the package): the
  ``flowstone_node`` and ``flowstone_sqlite_node`` fixtures.

``fs.start(testing="inline")`` makes ``node.submit`` run the job at once, in the caller.
"""

from __future__ import annotations

from flowstone._schedules.clock import ManualClock
from flowstone._testing.assets import Materialization, materialize, run_asset
from flowstone._testing.jobs import assert_enqueued, drain, refute_enqueued

__all__ = [
    "ManualClock",
    "Materialization",
    "assert_enqueued",
    "drain",
    "materialize",
    "refute_enqueued",
    "run_asset",
]
