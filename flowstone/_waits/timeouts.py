"""Durable timeouts: a node on the database fires a wait's timeout, once.

Firing is a conditional update (open → ``expired``), so two nodes never fire one wait
twice. A node that keeps up the database (a worker, or ``upkeep=True``, as for job
rescue) fires every due wait while it holds the jobs' ``pruner`` lease: one such node at a
time; any other node fires only the waits it suspended on itself, and takes no lease.
What the timeout does (fail, retry, cancel) is the wait kind's ``Resumption``, run by
whoever claims the expired wait (``Resumer``), or by the asset itself if it had not
suspended yet.
"""

from __future__ import annotations

from flowstone._waits.kinds import EXPIRED_EVENTS
from flowstone._waits.records import OPEN
from flowstone._waits.runtime import Waits, now
from supervisors._log import get_logger

__all__ = ["fire_due"]

log = get_logger("flowstone")


def fire_due(waits: Waits, limit: int = 100, only_node: str | None = None) -> int:
    """Expire the open waits whose timeout has passed; how many this call fired.

    With ``only_node``, only the waits that node suspended on (a node without upkeep
    fires its own; the others are left to the nodes that keep up the database)."""
    fired = 0
    for record in waits.store.due(now(), limit):
        if only_node is not None and (record.resume or {}).get("node") != only_node:
            continue
        audit = waits.audit_entry(
            f"{record.kind}.expired", waits.node_id, "expire", on_timeout=record.on_timeout
        )
        expired, changed = waits.store.resolve(
            record.id, generation=record.generation, states=OPEN, to="expired", at=now(), audit=audit
        )
        if not changed or expired is None:
            continue  # signalled, decided or fired by another node meanwhile
        waits.audited(audit, expired)
        fired += 1
        log.info(
            "waits.expired", wait_id=record.id, kind=record.kind, run_id=record.run_id, asset=record.asset
        )
        event = EXPIRED_EVENTS.get(record.kind)
        if event is not None:
            waits.emit(event, expired)
        waits.kick(expired)
    return fired
