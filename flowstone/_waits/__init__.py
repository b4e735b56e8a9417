"""Durable waits: a materialization that waits is a row in the store, not a blocked thread.

An asset waits by *returning* a ``Suspension`` (``fs.Gate`` from ``ctx.gate``,
``fs.RequestApproval``). The runner's user-code boundary (``_execution/attempt.py``) has
one hook for every kind: ``suspend`` (``suspend.py``) persists the wait, marks the
materialization and its run ``waiting``, *arms* the wait with the run's resume point
(pipeline, reference, target, plan, options, job id) and returns an ``Outcome`` with
``suspended=True``. The scheduler then *parks* the run once nothing else of it is in
flight: it forgets it. No runner, thread or transaction is held while it waits.

A wait is *resolved* by a conditional update of its row (``WaitStore.resolve``: open →
``signaled``/``approved``/``rejected``/``expired``/``cancelled``); exactly one of two racing
resolutions wins. Once resolved *and* armed it is *claimed* (``WaitStore.claim``, again
exactly once) by a node's ``Resumer`` (``resume.py``), which continues the run through the
same ``Scheduler``: the wait kind's ``Resumption`` runs in the waiting asset's place
(``Task.resume``), then the rest of the original plan runs, or the run parks again. A
wait resolved before its asset returned is taken by the asset itself (``arm`` says so).

Modules: ``records`` (rows and public views), ``store`` (the protocol, ``MemoryWaits``),
``sql`` (``SQLWaits``, table ``flowstone_waits``), ``tokens`` (HMAC-SHA256 tokens),
``suspension`` (the two hooks), ``gates``, ``approvals``, ``kinds`` (kind → resumption),
``suspend`` (the runner's side), ``resume`` (``Resumer``), ``timeouts`` (``fire_due``),
``watch`` (``node.run`` waiting for a parked run), ``actor`` (the node's ``waits`` child:
a tick that fires timeouts (on a database, while it holds the jobs' ``pruner`` lease)
and sweeps resolved waits, plus PostgreSQL LISTEN), ``wiring`` and ``api`` (the node's methods).

Adding a kind of wait (a scatter barrier, a parallel join, a schedule):

1. A ``Suspension`` subclass the asset returns (or that your hook returns for it). Its
   ``persist(ctx, waits)`` writes a ``WaitRecord`` with ``waits.store.create`` (``kind``
   your name, ``key`` unique within the materialization, ``state="waiting"``,
   ``expires_at``/``on_timeout`` if it times out, anything else in ``metadata``) and
   returns its id. Write it early (as ``ctx.gate`` does) if it may be resolved before
   the asset returns.
2. A ``Resumption`` subclass: ``call(asset, ctx, kwargs)`` returns the asset's value
   once resolved (or a new ``Suspension`` to wait again), or raises a
   ``WaitEndedError`` to end it (``WaitCancelledError`` ends it ``cancelled``);
   ``ends(partition)`` returns that error without running user code when it can (so
   a node without the pipeline can still end it).
3. One line in ``kinds.RESUMPTIONS`` (and ``kinds.EXPIRED_EVENTS`` for its timeout event).
4. Resolve it with ``waits.store.resolve(wait_id, generation=None, states=OPEN,
   to="<your state>", at=now(), payload=...)``; when it changed, call
   ``waits.kick(record)`` so this node resumes it at once (other nodes find it on
   their next sweep, or by NOTIFY on PostgreSQL). A barrier that counts arrivals
   keeps its count in its own table or in ``metadata`` and resolves when complete.

Timeouts need nothing more: ``timeouts.fire_due`` expires any open wait past its
``expires_at`` and the kind's ``Resumption`` decides what ``expired`` means.
"""

from flowstone._waits.approvals import RequestApproval
from flowstone._waits.gates import Gate
from flowstone._waits.records import ApprovalDecision, ApprovalInfo, GateInfo, WaitRecord
from flowstone._waits.suspension import Resumption, Suspension

__all__ = [
    "ApprovalDecision",
    "ApprovalInfo",
    "Gate",
    "GateInfo",
    "RequestApproval",
    "Resumption",
    "Suspension",
    "WaitRecord",
]
