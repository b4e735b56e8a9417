"""Durable timeouts: any node on the database fires a wait's timeout, once.

Firing is a conditional update (open → ``expired``), so two nodes never fire one wait
twice; a database node takes the ``waits`` lease first, so one node at a time looks.
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


def fire_due(waits: Waits, limit: int = 100) -> int:
    """Expire the open waits whose timeout has passed; how many this call fired."""
    fired = 0
    for record in waits.store.due(now(), limit):
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
