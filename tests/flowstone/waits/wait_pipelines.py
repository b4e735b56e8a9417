"""Pipelines for the wait tests, importable as ``wait_pipelines`` (by the tests and by
other processes): a node that did not run a pipeline resumes it through its reference.

The assets count their calls in a ``Calls`` resource (``calls``) when the node has one.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import flowstone as fs

__all__ = ["Calls", "approvals", "gated"]


class Calls:
    """How many times each asset was called (in this process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.signal_early: Any = None  # a node: ``early`` signals its own gate before it returns

    def hit(self, ctx: fs.Context) -> None:
        with self._lock:
            self.counts[ctx.asset] += 1


def _hit(ctx: fs.Context) -> None:
    calls = ctx.resources.get("calls")
    if calls is not None:
        calls.hit(ctx)


gated = fs.Pipeline("gated")


@gated.asset
def video(ctx: fs.Context) -> dict[str, Any]:
    _hit(ctx)
    return {"id": ctx.partition or "v1"}


@gated.asset(on_signal=lambda ctx, payload, video: {"video": video["id"], "url": payload["url"]})
def transcoded(ctx: fs.Context, video: dict[str, Any]) -> Any:
    _hit(ctx)
    timeout = ctx.resources.get("gate_timeout", 3600)
    on_timeout = ctx.resources.get("on_timeout", "fail")
    retries = ctx.resources.get("max_timeout_retries", 3)
    gate = ctx.gate("job", timeout=timeout, on_timeout=on_timeout, max_timeout_retries=retries)
    assert ctx.gate("job", timeout=timeout).token == gate.token  # the same gate, twice
    return gate


@gated.asset
def published(ctx: fs.Context, transcoded: dict[str, Any]) -> str:
    _hit(ctx)
    return f"{transcoded['video']} at {transcoded['url']}"


@gated.asset
def raw(ctx: fs.Context) -> Any:
    """A gate without on_signal: the payload is the value."""
    _hit(ctx)
    return ctx.gate(f"raw-{ctx.partition}", timeout=ctx.resources.get("gate_timeout", 3600))


@gated.asset
def early(ctx: fs.Context) -> Any:
    """Signals its own gate before returning it."""
    _hit(ctx)
    gate = ctx.gate("early", timeout=60)
    ctx.resources["calls"].signal_early.signal(gate.token, "came first")
    return gate


@gated.asset
def bad_key(ctx: fs.Context) -> Any:
    return ctx.gate("not a valid key!", timeout=60)


approvals = fs.Pipeline("approvals")


@approvals.asset
def report(ctx: fs.Context) -> list[int]:
    _hit(ctx)
    return [1, 2, 3]


@approvals.asset
def publish(ctx: fs.Context, report: list[int]) -> Any:
    _hit(ctx)
    if ctx.approval is None:
        timeout = ctx.resources.get("approval_timeout")
        on_timeout = ctx.resources.get("on_timeout", "fail")
        return fs.RequestApproval(
            "Publish the Q3 report?",
            timeout=timeout,
            on_timeout=on_timeout,
            context={"rows": len(report)},
            max_timeout_retries=ctx.resources.get("max_timeout_retries", 3),
        )
    return {"rows": len(report), "by": ctx.approval.by, "reason": ctx.approval.reason}


@approvals.asset
def announced(ctx: fs.Context, publish: dict[str, Any]) -> str:
    _hit(ctx)
    return f"published by {publish['by']}"
