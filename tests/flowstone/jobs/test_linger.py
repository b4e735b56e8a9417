"""A freed worker waits for the others in flight (the linger, ``queue.LINGER``) only
briefly: with one job still running, the others keep being claimed, no poll needed."""

from __future__ import annotations

import threading

from job_pipelines import Probe, pipeline
from job_support import StartNode

import flowstone as fs


def test_short_jobs_flow_past_a_long_one_without_waiting_for_a_poll(
    start_node: StartNode, probe: Probe
) -> None:
    entered = threading.Event()

    def hold_one(ctx: fs.Context, nth: int) -> None:
        if ctx.partition == "held":
            entered.set()
            probe.block(ctx, nth)

    probe.hooks["value"] = hold_one
    # A poll every 60 s: the short jobs below finish long before one could refill a worker.
    node = start_node(queues={"assets": 2}, poll_interval=60.0)
    held = node.submit(pipeline, "value", partition="held")
    assert entered.wait(10)
    first = node.submit(pipeline, "value", partition="s0")
    assert first.wait(10) == "value:s0"  # claimed on its submit's wake
    # Queued behind s0 before it ends: each is claimed once the linger after the last
    # one's end has passed (the held job is still in flight), with no submit to wake it.
    node.jobs.pause("assets")
    rest = [node.submit(pipeline, "value", partition=f"s{i}") for i in range(1, 6)]
    node.jobs.resume("assets")
    assert [handle.wait(10) for handle in rest] == [f"value:s{i}" for i in range(1, 6)]
    assert node.jobs.get(held.id).state == "executing"
    probe.gate.set()
    assert held.wait(10) == "value:held"
