"""The per-resource checks of ``node.health()``, each bounded by ``health_timeout``.

The resources actor only says *what* to check (a snapshot of its live objects and their
``health`` callables); the checks run here, in the caller's health probe, each in a
short-lived thread of its own, all at once, and each one not done within the timeout is
reported as hanging. Running them inside the actor (as at first) let one hanging check
hide every other resource's check and block the actor — and with it every
``ctx.limit`` grant of a memory node — until the check returned.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["HealthTarget", "run_checks"]


@dataclass(frozen=True, slots=True)
class HealthTarget:
    """One resource to report: a known ``problem`` (unavailable), or a ``check`` to run."""

    name: str
    problem: str | None = None
    check: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()


#: Checks still running, by (resource name, the object whose check it is): a check that
#: hangs is not started again by the next ``node.health()`` — one thread per hung check,
#: however often a monitor asks.
_running: dict[tuple[str, int], _Probe] = {}
_running_lock = threading.Lock()


def _key(target: HealthTarget) -> tuple[str, int]:
    return (target.name, id(getattr(target.check, "__self__", target.check)))


class _Probe:
    """Runs one check in its own daemon thread and keeps its verdict."""

    __slots__ = ("done", "ms", "problem", "started", "target", "thread")

    def __init__(self, target: HealthTarget) -> None:
        self.target = target
        self.started = time.monotonic()
        self.problem: str | None = None
        self.ms = 0.0
        self.done = threading.Event()
        # A daemon: a check that never returns must not keep the process alive.
        self.thread = threading.Thread(target=self._run, name=f"flowstone-health:{target.name}", daemon=True)

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            assert self.target.check is not None
            healthy = self.target.check(*self.target.args)
        except Exception as exc:  # noqa: BLE001 - reported as a failed check
            self.problem = f"{type(exc).__name__}: {exc}"
        else:
            self.problem = "its health check returned False" if healthy is False else None
        self.ms = (time.perf_counter() - started) * 1000
        with _running_lock:
            if _running.get(_key(self.target)) is self:
                del _running[_key(self.target)]
        self.done.set()


def _probe(target: HealthTarget) -> _Probe:
    """A new probe, started; or the one of this check that is still running."""
    with _running_lock:
        running = _running.get(_key(target))
        if running is not None:
            return running
        probe = _running[_key(target)] = _Probe(target)
    probe.thread.start()
    return probe


def run_checks(targets: Iterable[HealthTarget], timeout: float) -> dict[str, tuple[str | None, float]]:
    """Per resource, in the targets' order: None when healthy or what is wrong, and how
    long its check took (ms); a check still running after ``timeout`` s is a problem."""
    probes: list[_Probe] = []
    report: dict[str, tuple[str | None, float]] = {}
    for target in targets:
        if target.check is None:
            report[target.name] = (target.problem, 0.0)
        else:
            report[target.name] = (None, 0.0)  # keeps declaration order; filled in below
            probes.append(_probe(target))
    deadline = time.monotonic() + timeout
    for probe in probes:
        if probe.done.wait(max(0.0, deadline - time.monotonic())):
            report[probe.target.name] = (probe.problem, probe.ms)
        else:
            running = time.monotonic() - probe.started
            report[probe.target.name] = (
                f"its health check did not answer within {timeout} s (health_timeout; running "
                f"for {running:.1f} s); make it time out sooner or raise the node's health_timeout",
                running * 1000,
            )
    return report
