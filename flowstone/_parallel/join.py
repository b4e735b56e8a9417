"""The parallel asset's side of the durable wait: it suspends on its group (``Joining``)
and, once the group is resolved, ``JoinResumption`` runs the join (or fails the asset)
in its place; exactly one node does, as for any resolved wait (the Resumer's claim)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from flowstone import partitions
from flowstone._parallel.options import PARALLEL_LABEL, BranchResult, ParallelOptions
from flowstone._parallel.rows import Group, read_ended, settle
from flowstone._parallel.verdict import TIMED_OUT, Verdict, decide
from flowstone._waits.records import WaitRecord
from flowstone._waits.runtime import Waits, now
from flowstone._waits.suspension import Resumption, Suspension
from flowstone.errors import FlowStoneError, ParallelBranchError, ParallelTimeoutError, WaitCancelledError

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context
    from flowstone.partitions import Partition

__all__ = ["JoinResumption", "Joining", "ParallelKind"]


class ParallelKind(Protocol):
    """What the join (and the branch jobs) read of ``kind.Parallel``, whose module imports
    theirs: described here, not imported."""

    @property
    def options(self) -> ParallelOptions: ...
    def load(self, waits: Waits, final: str, partition: Partition) -> Any: ...


@dataclass(frozen=True, slots=True)
class Joining(Suspension):
    """Returned by the parallel kind's ``call``: the asset waits on its group row."""

    wait_id: str

    def persist(self, ctx: Context, waits: Waits) -> str:
        return self.wait_id  # written with the branch rows, before any branch started


@dataclass(frozen=True, slots=True)
class _Rearm(Suspension):
    """A branch's timeout fired but the group still waits for others: wait again, until
    the next deadline (a fresh generation of the same row)."""

    record: WaitRecord
    group: Group
    verdict: Verdict

    def persist(self, ctx: Context, waits: Waits) -> str:
        renewed = waits.store.renew(self.record.id, expires_at=self.group.expiry(self.verdict), at=now())
        if renewed is None:
            raise FlowStoneError(
                f"parallel asset {ctx.asset!r} (run {ctx.run_id}): its wait {self.record.id} could not "
                "wait again; run the asset again"
            )
        settle(waits, self.group)  # a branch that ended while the row was expired
        return renewed.id


def _kind(asset: AssetDef) -> ParallelKind:
    # The kind's label, not isinstance: kind.py imports this module (issue 22).
    if asset.kind.label != PARALLEL_LABEL:
        raise FlowStoneError(f"asset {asset.name!r} is not a parallel asset; it cannot join")
    return cast("ParallelKind", asset.kind)


@dataclass(frozen=True, slots=True)
class JoinResumption(Resumption):
    """A resolved group: call the join with the branches' results, or fail the asset."""

    ends_by_itself = True
    record: WaitRecord

    def ends(self, partition: Any) -> BaseException | None:
        record = self.record
        if record.state != "cancelled":
            return None
        return WaitCancelledError(
            f"parallel asset {record.asset!r} (run {record.run_id}) was cancelled: a later run of it "
            "took over its branches",
            asset=record.asset,
            partition=partition,
            run_id=record.run_id,
        )

    def call(self, asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        ending = self.ends(ctx.partition)
        if ending is not None:
            raise ending
        waits: Waits = ctx._waits
        kind = _kind(asset)
        group = Group(self.record, kind.options)
        verdict = decide(kind.options, read_ended(waits, group), group.deadlines(), time.time())
        if verdict.outcome == "wait":
            return _Rearm(self.record, group, verdict)
        if verdict.outcome == "fail":
            _close(waits, self.record, "failed")  # a later run runs its branches afresh
            raise _failed(ctx, verdict)
        results: dict[str, BranchResult] = {}
        for name, branch in kind.options.branches.items():
            ended = verdict.ended.get(name)
            if ended is None:
                results[name] = BranchResult(
                    False, None, "left out: still running when every required branch had ended", True
                )
            elif ended.ok:
                results[name] = BranchResult(True, kind.load(waits, branch.final, ctx.partition))
            else:
                results[name] = BranchResult(False, None, ended.error, ended.skipped)
        ctx.log.info(
            "parallel.joining",
            ok=sorted(n for n, r in results.items() if r.ok),
            left_out=list(verdict.left_out),
        )
        value = asset.fn(ctx, branches=results, **kwargs)
        _close(waits, self.record, "joined")  # nothing left to adopt: a later run starts afresh
        return value


def _close(waits: Waits, record: WaitRecord, to: str) -> None:
    """The group is done with: out of the states a later run adopts from (``kind._adopt``)."""
    waits.store.resolve(record.id, generation=None, states=("signaled", "expired"), to=to, at=now())


def _failed(ctx: Context, verdict: Verdict) -> ParallelBranchError:
    failures = {name: e.error or "failed" for name, e in verdict.failures.items()}
    timed_out = all(error.startswith(TIMED_OUT) for error in failures.values())
    error = ParallelTimeoutError if timed_out else ParallelBranchError
    where = "" if ctx.partition is None else f", partition {partitions.describe(ctx.partition)!r}"
    shown = "; ".join(f"{name}: {text}" for name, text in sorted(failures.items()))
    return error(
        f"parallel asset {ctx.asset!r}{where} (run {ctx.run_id}) did not join: branch(es) "
        f"{', '.join(sorted(failures))} failed ({shown}); fix them, give them longer timeouts, "
        "or make them optional (fs.Branch(required=False) with failure_mode='partial'), and run it again",
        asset=ctx.asset,
        partition=ctx.partition,
        run_id=ctx.run_id,
        failures=failures,
    )
