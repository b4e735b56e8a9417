"""Run tags survive a durable wait (issue 19, run metadata): a run resumed after a gate is
rebuilt from the store, and its tags are read back with it, so the assets that run after
the signal see the same ``ctx.tags`` as those that ran before it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wait_support import Background

import flowstone as fs
from supervisors.testing import wait_for

TAGS = {"team": "finance", "trace_id": "t-9"}


def tag_gated(seen: dict[str, Mapping[str, str]]) -> fs.Pipeline:
    pipeline = fs.Pipeline("tag_gated")

    @pipeline.asset
    def before(ctx: fs.Context) -> int:
        seen["before"] = ctx.tags
        return 1

    @pipeline.asset(on_signal=lambda ctx, payload, before: payload)
    def gated(ctx: fs.Context, before: int) -> Any:
        seen["gated"] = ctx.tags
        return ctx.gate("approve", timeout=3600)

    @pipeline.asset
    def after(ctx: fs.Context, gated: str) -> str:
        seen["after"] = ctx.tags
        return ctx.run_id

    return pipeline


class TestTagsThroughAWait:
    def test_a_run_resumed_after_a_gate_keeps_its_tags(
        self, start_node: Callable[..., fs.Node], background: Callable[..., Background]
    ) -> None:
        seen: dict[str, Mapping[str, str]] = {}
        pipeline = tag_gated(seen)
        node = start_node()
        running = background(lambda: node.run(pipeline, "after", tags=TAGS))
        gate = wait_for(node.gates, message="the gate")[0]
        assert "after" not in seen
        node.signal(gate.token, "ok")
        run_id = running.result()
        assert {asset: dict(tags) for asset, tags in seen.items()} == {
            "before": TAGS,
            "gated": TAGS,
            "after": TAGS,
        }
        assert dict(node.run_tags(run_id)) == TAGS
