"""A parallel asset's rows in the wait store: one ``parallel`` row for the group (the
wait its asset suspends on) and one ``parallel_branch`` row per branch.

A branch's row moves ``waiting → ended`` once, with how it ended as its payload (its
value stays in the store, with its final asset). After each branch end the group is
*settled*: ``decide`` over the rows, and when it says join or fail, the group row moves
``waiting → signaled`` in one conditional update, so that of two branches ending at
once exactly one resolves it, and the Resumer's claim gives the join to one node.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowstone import codec
from flowstone._parallel.options import ParallelOptions
from flowstone._parallel.verdict import Ended, Verdict, decide
from flowstone._waits.records import OPEN, WaitRecord
from flowstone._waits.runtime import Waits, now, wait_of
from flowstone._waits.store import MemoryWaits

if TYPE_CHECKING:
    from flowstone._context import Context

__all__ = [
    "BRANCH_KIND",
    "GROUP_KEY",
    "KIND",
    "Group",
    "branch_key",
    "open_group",
    "read_ended",
    "record_end",
    "settle",
]

KIND = "parallel"
BRANCH_KIND = "parallel_branch"
GROUP_KEY = "parallel:join"
ENDED = "ended"


def branch_key(name: str) -> str:
    return f"parallel:branch:{name}"


class Group:
    """Where one parallel materialization's rows are (a run, an asset, a partition)."""

    __slots__ = ("asset", "options", "partition_key", "pipeline", "run_id", "started")

    def __init__(self, record: WaitRecord, options: ParallelOptions) -> None:
        self.run_id = record.run_id
        self.pipeline = record.pipeline
        self.asset = record.asset
        self.partition_key = record.partition_key
        self.options = options
        self.started = float(record.metadata.get("started", record.created_at.timestamp()))

    def deadlines(self) -> dict[str, float | None]:
        return self.options.deadlines(self.started)

    def expiry(self, verdict: Verdict | None = None) -> datetime | None:
        """When the group's wait must look again (the next deadline of a branch it needs)."""
        until = verdict.until if verdict is not None else _first(self.deadlines().values())
        return None if until is None else datetime.fromtimestamp(until, UTC)


def _first(deadlines: Any) -> float | None:
    found = [d for d in deadlines if d is not None]
    return min(found) if found else None


def open_group(
    ctx: Context, waits: Waits, options: ParallelOptions, adopted: Mapping[str, Ended]
) -> WaitRecord:
    """Write the group's rows (or find them: a retried attempt); the branches in
    ``adopted`` (a crashed run's, ended already) are written ended."""
    started = time.time()
    deadlines = options.deadlines(started)
    first = _first(deadlines.values())
    group = waits.store.create(
        wait_of(
            ctx,
            KIND,
            GROUP_KEY,
            state="waiting",
            expires_at=None if first is None else datetime.fromtimestamp(first, UTC),
            metadata={"started": started, "branches": list(options.branches)},
        )
    )
    for name in options.branches:
        ended = adopted.get(name)
        waits.store.create(
            wait_of(
                ctx,
                BRANCH_KIND,
                branch_key(name),
                state="waiting" if ended is None else ENDED,
                payload=None if ended is None else _encode(ended),
                metadata={"adopted": ended is not None},
            )
        )
    return group


def _encode(ended: Ended) -> bytes:
    return codec.encode({"ok": ended.ok, "error": ended.error, "skipped": ended.skipped})


def _decode(payload: bytes | None) -> Ended:
    data = {} if payload is None else codec.decode(payload)
    return Ended(bool(data.get("ok")), data.get("error"), bool(data.get("skipped")))


def read_ended(waits: Waits, group: Group) -> dict[str, Ended]:
    """The branches of ``group`` that have ended, and how."""
    found: dict[str, Ended] = {}
    if isinstance(waits.store, MemoryWaits):  # a dict lookup each; its select scans every row
        for name in group.options.branches:
            row = waits.store.find(group.run_id, group.asset, group.partition_key, branch_key(name))
            if row is not None and row.state == ENDED:
                found[name] = _decode(row.payload)
        return found
    keys = {branch_key(name): name for name in group.options.branches}
    # A database: one query for the run's ended branch rows, not one per branch (the group
    # is settled after every branch end: 8 branches made 64 queries, and 3x the time).
    for row in waits.store.select(kind=BRANCH_KIND, states=(ENDED,), run_id=group.run_id):
        branch = keys.get(row.key)
        if branch is not None and row.asset == group.asset and row.partition_key == group.partition_key:
            found[branch] = _decode(row.payload)
    return found


def record_end(waits: Waits, group: Group, name: str, ended: Ended) -> bool:
    """Record that branch ``name`` ended (once: a second end changes nothing)."""
    row = waits.store.find(group.run_id, group.asset, group.partition_key, branch_key(name))
    if row is None:
        return False
    _, changed = waits.store.resolve(
        row.id, generation=None, states=OPEN, to=ENDED, at=now(), payload=_encode(ended)
    )
    return changed


def settle(waits: Waits, group: Group) -> Verdict:
    """Decide the group now; resolve its wait (once) when it joins or fails."""
    verdict = decide(group.options, read_ended(waits, group), group.deadlines(), time.time())
    if verdict.outcome == "wait":
        return verdict
    row = waits.store.find(group.run_id, group.asset, group.partition_key, GROUP_KEY)
    if row is None:
        return verdict
    resolved, changed = waits.store.resolve(row.id, generation=None, states=OPEN, to="signaled", at=now())
    if changed and resolved is not None:
        waits.kick(resolved)  # armed already: this node's resumer takes the join now
    return verdict
