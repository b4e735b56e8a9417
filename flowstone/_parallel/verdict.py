"""When a parallel asset joins, and how: a pure function of what its branches did.

No actors, no store, no clock reads: the caller passes the branches that ended, the
deadlines and the time, and gets back whether to join, fail, or keep waiting (and until
when). Everything else in ``flowstone._parallel`` is a shell around this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowstone._parallel.options import ParallelOptions

__all__ = ["Ended", "Verdict", "decide"]

TIMED_OUT = "ParallelTimeoutError"


@dataclass(frozen=True, slots=True)
class Ended:
    """How one branch ended (what its wait row keeps; the value stays in the store)."""

    ok: bool
    error: str | None = None
    skipped: bool = False

    @property
    def failed(self) -> bool:
        return not self.ok and not self.skipped


@dataclass(frozen=True, slots=True)
class Verdict:
    """``outcome`` is ``"wait"`` (until ``until``, None: until a branch ends), ``"join"``
    or ``"fail"``; ``ended`` holds every branch counted as ended, timeouts included;
    ``left_out`` the optional branches a partial join goes without."""

    outcome: str
    ended: Mapping[str, Ended]
    left_out: tuple[str, ...] = ()
    until: float | None = None

    @property
    def failures(self) -> dict[str, Ended]:
        return {name: e for name, e in self.ended.items() if e.failed}


def decide(
    options: ParallelOptions,
    ended: Mapping[str, Ended],
    deadlines: Mapping[str, float | None],
    now: float,
) -> Verdict:
    """What the group does now, given the branches that ``ended`` and their ``deadlines``.

    A branch past its deadline counts as failed with a timeout. With ``"all"`` any
    failure fails the group at once, else it joins when every branch has ended; with
    ``"partial"`` only the required branches count, and the rest are left out.
    """
    counted = dict(ended)
    for name in options.branches:
        deadline = deadlines.get(name)
        if name not in counted and deadline is not None and now >= deadline:
            counted[name] = Ended(False, f"{TIMED_OUT}: branch {name!r} was still running at its timeout")
    if options.failure_mode == "all":
        needed = tuple(options.branches)
    else:
        needed = tuple(name for name, b in options.branches.items() if b.required)
    if any(counted[name].failed for name in needed if name in counted):
        return Verdict("fail", counted)
    pending = [name for name in needed if name not in counted]
    if pending:
        upcoming = [d for name in pending if (d := deadlines.get(name)) is not None]
        return Verdict("wait", counted, until=min(upcoming) if upcoming else None)
    left_out = tuple(name for name in options.branches if name not in counted)
    return Verdict("join", counted, left_out)
