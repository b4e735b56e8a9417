"""Links: two actors that die together (OTP's ``link/1``, ``unlink/1``, ``trap_exit``).

A link is two monitors, one on each side. When one actor ends with any reason other
than ``Normal()`` (OTP's ``normal``: a ``stop()``), the other is ended with reason
``Linked(reason)`` — equal to ``("linked", reason)`` — unless its class sets
``trap_exits = True``: then it receives an ``Exit(ref, reason)`` message and carries on.
A ``Normal()`` exit only removes the link. Like every shutdown here, the partner ends
after its current message (a thread cannot be interrupted).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pykka._envelope import Envelope

from supervisors._lifecycle import Lifecycle, call_monitor, lifecycle_of
from supervisors._log import get_logger
from supervisors._reasons import ExitReason, Linked, Normal

__all__ = ["Exit", "link", "unlink"]

log = get_logger("supervisors")


@dataclass(frozen=True, slots=True)
class Exit:
    """The message a trapping actor receives when its linked partner ``ref`` ended."""

    ref: Any
    reason: ExitReason


_lock = threading.Lock()
# {frozenset of the two lifecycles' ids: ((lifecycle, token), (lifecycle, token))}
_links: dict[frozenset[int], tuple[tuple[Lifecycle, int | None], tuple[Lifecycle, int | None]]] = {}


def _key(a: Lifecycle, b: Lifecycle) -> frozenset[int]:
    return frozenset((id(a), id(b)))


def link(a: Any, b: Any) -> None:
    """Link the actors behind refs ``a`` and ``b`` (``supervisors.Actor`` refs or
    ``SupervisorRef``s). Linking twice is one link; linking to an actor that has already
    ended acts at once on its exit reason (OTP's ``noproc``)."""
    la, lb = lifecycle_of(a), lifecycle_of(b)
    if la is lb:
        return
    key = _key(la, lb)
    with _lock:
        if key in _links:
            return
        _links[key] = ((la, None), (lb, None))
    token_a = la.add_monitor(lambda reason: _fired(key, a, reason, b, lb))
    token_b = lb.add_monitor(lambda reason: _fired(key, b, reason, a, la))
    with _lock:
        if key in _links:
            _links[key] = ((la, token_a), (lb, token_b))
    if token_a is None:  # already gone: its monitor did not register
        _fire_now(key, a, la, b, lb)
    if token_b is None:
        _fire_now(key, b, lb, a, la)


def _fire_now(key: frozenset[int], ended: Any, lifecycle: Lifecycle, other: Any, partner: Lifecycle) -> None:
    reason = lifecycle.exit_reason
    assert reason is not None

    def fire(r: ExitReason) -> None:
        _fired(key, ended, r, other, partner)

    call_monitor(fire, reason)


def unlink(a: Any, b: Any) -> bool:
    """Remove the link between ``a`` and ``b``; True if there was one."""
    la, lb = lifecycle_of(a), lifecycle_of(b)
    with _lock:
        sides = _links.pop(_key(la, lb), None)
    if sides is None:
        return False
    for lifecycle, token in sides:
        if token is not None:
            lifecycle.remove_monitor(token)
    return True


def _fired(key: frozenset[int], ended: Any, reason: ExitReason, other: Any, partner: Lifecycle) -> None:
    with _lock:
        sides = _links.pop(key, None)
    if sides is None:  # unlinked meanwhile, or the other side fired first
        return
    for lifecycle, token in sides:
        if lifecycle is partner and token is not None:
            lifecycle.remove_monitor(token)
    if isinstance(reason, Normal) or partner.exited:
        return
    if partner.traps_exits:
        partner.inbox.put(Envelope(Exit(ended, reason)))
        return
    log.info("actor.linked_exit", actor=str(other), partner=str(ended), reason=reason.describe())
    partner.forced_reason = Linked(reason)
    partner.request_shutdown()
