"""How long a PostgreSQL LISTEN loop waits before it reconnects (jobs and waits listeners).

The schedule is ``supervisors.Backoff`` (``supervisors.backoff_delay``), the one supervisor
restarts and ``fs.Retry`` use: 0.1 s doubling to 5 s, spread by ±20 %, so that the
listeners of many nodes do not all reconnect on the same beat after a database restart.
Polling carries on meanwhile, so a slow reconnect only costs wake-up latency.
"""

from __future__ import annotations

import supervisors

__all__ = ["RECONNECT"]

RECONNECT = supervisors.Backoff(initial=0.1, max=5.0, factor=2.0, jitter=0.2)
"""``RECONNECT.delay(n)``: seconds before reconnect attempt ``n`` after ``n`` failures in a row."""
