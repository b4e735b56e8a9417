"""``node.health()``'s check of each queue a node works (``queue:<name>``).

Each check asks the node's own actors, every ask bounded by the health deadline: the
producer (its limit, whether it is paused, how many jobs it runs), the workers'
supervisor (how many are alive), and, once for all queues, the maintenance actor (the
queues' jobs in the database). ``liveness.queue_check`` judges the answers.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from flowstone._jobs.liveness import QueueState, queue_check
from flowstone._jobs.queue import QueueEnv
from flowstone._node.health import Check, ask_within, failure_detail

__all__ = ["QueueChecks"]


class QueueChecks:
    """``QueueChecks(queues)(timeout, store_ok)``: one check per queue of the node."""

    def __init__(self, queues: Mapping[str, QueueEnv]) -> None:
        self._queues = queues
        self.maintenance: Any = None  # the maintenance actor's current ref, set as it starts

    def track(self, ref: Any) -> Any:
        """Remember the maintenance actor that just started (called by its child spec)."""
        self.maintenance = ref
        return ref

    def __call__(self, timeout: float, store_ok: bool) -> dict[str, Check]:
        names = [f"queue:{name}" for name in self._queues]
        if not names:
            return {}
        if not store_ok:
            return dict.fromkeys(names, Check(False, "not checked: the store is down"))
        started = time.perf_counter()
        try:
            states: dict[str, QueueState] = ask_within(self.maintenance, "maintenance", "queues", timeout)
        except Exception as exc:  # noqa: BLE001 - a failing probe is the answer
            failed = Check(False, f"the queues' jobs could not be read: {failure_detail(exc)}")
            return dict.fromkeys(names, failed)
        read_ms = (time.perf_counter() - started) * 1000
        checks: dict[str, Check] = {}
        for name, env in self._queues.items():
            begun = time.perf_counter()
            try:
                check = self._one(env, states.get(name, QueueState(queue=name)), timeout)
            except Exception as exc:  # noqa: BLE001 - a failing probe is the answer
                check = Check(False, failure_detail(exc))
            latency = read_ms + (time.perf_counter() - begun) * 1000
            checks[f"queue:{name}"] = dataclasses.replace(check, latency_ms=latency)
        return checks

    @staticmethod
    def _one(env: QueueEnv, state: QueueState, timeout: float) -> Check:
        info = ask_within(env.producer, f"the producer of queue {env.name!r}", "info", timeout)
        alive = 0
        if env.workers is not None and env.workers.is_alive():
            tree = env.workers.tree(timeout=timeout)
            alive = sum(1 for child in tree.children if child.status == "running")
        return queue_check(
            state, workers=min(alive, int(info["limit"])), busy=int(info["busy"]), paused=bool(info["paused"])
        )
