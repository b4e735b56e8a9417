"""Which claimed jobs run alone: those whose previous attempt died with its node.

A job that kills its process (``os._exit``, a crashing C extension, the OOM killer)
takes with it every job running beside it. Rescued together, claimed together again,
they would die together again at each of its attempts, and jobs that never failed
would be discarded when their attempts ran out. So a *resumed* job (its previous
attempt recorded no outcome: its node stopped heart-beating mid-attempt) runs alone on
its node, and the jobs claimed beside it are given back without using an attempt. A
poison then costs its neighbours at most the one attempt they shared with it before
anyone knew, and never again.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowstone._jobs.claimed import ClaimedJob

__all__ = ["resumed", "split_claim"]


def resumed(job: ClaimedJob) -> bool:
    """Whether ``job``'s previous attempt ended without an outcome of its own.

    Every acknowledgement but a completion records its attempt in ``errors`` (a snooze
    gives the attempt back), so a later attempt with nothing recorded for the one before
    it follows a rescue, or an admin retry of a completed or cancelled job (harmless to
    run alone). A rescue that records the lost attempt writes ``orphaned: ...``.
    """
    if job.attempt <= 1:
        return False
    previous = [entry for entry in job.errors if entry.get("attempt") == job.attempt - 1]
    return not previous or str(previous[-1].get("error", "")).startswith("orphaned")


def split_claim(
    claimed: Sequence[ClaimedJob], *, running: bool
) -> tuple[list[ClaimedJob], list[ClaimedJob], bool]:
    """What to run of ``claimed`` and what to give back; and whether to keep claiming
    carefully (one job at a time, only when nothing runs) until a claim holds no
    resumed job.

    ``running`` says whether other jobs of the queue are running on this node: a
    resumed job then waits (given back) until they have ended, or it could kill them.
    """
    suspects = [job for job in claimed if resumed(job)]
    if not suspects:
        return list(claimed), [], False
    if running:
        return [job for job in claimed if not resumed(job)], suspects, True
    alone = suspects[0]
    return [alone], [job for job in claimed if job is not alone], True
