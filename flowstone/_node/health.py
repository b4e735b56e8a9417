"""``node.health()``: a structured report on every component that never raises."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from flowstone._node.resource_health import run_checks
from flowstone._node.services import Directory

__all__ = ["Check", "ExtraChecks", "Health", "ask_within", "check_health", "failure_detail", "with_waits"]


@dataclass(frozen=True, slots=True)
class Check:
    """One component's state: ``ok``, a human ``detail``, and how long the check took."""

    ok: bool
    detail: str
    latency_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Health:
    """``down`` when the store fails, ``degraded`` when anything else does, else ``ok``."""

    status: Literal["ok", "degraded", "down"]
    checks: dict[str, Check] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": {
                name: {"ok": c.ok, "detail": c.detail, "latency_ms": round(c.latency_ms, 3)}
                for name, c in self.checks.items()
            },
        }


def failure_detail(exc: BaseException) -> str:
    """A failed probe's detail: the exception's type and message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _timed(probe: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a failing probe is the answer
        detail = failure_detail(exc)
        ok = False
    return Check(ok, detail, (time.perf_counter() - started) * 1000)


#: More checks from a part of the node (its queues): ``extra(timeout, store_ok)``.
ExtraChecks = Callable[[float, bool], Mapping[str, Check]]


def ask_within(ref: Any, name: str, message: Any, timeout: float) -> Any:
    """Ask an actor, or raise ``TimeoutError`` naming it after ``timeout`` seconds."""
    if ref is None:
        raise RuntimeError(f"{name} is not running")
    try:
        return ref.ask(message, timeout=timeout)
    except Exception as exc:
        if type(exc).__name__ == "Timeout":
            raise TimeoutError(f"{name} did not answer within {timeout} s") from None
        raise


def _ask(directory: Directory, child: str, message: Any, timeout: float) -> Any:
    return ask_within(directory.lookup(child), child, message, timeout)


def with_waits(directory: Directory, extra: ExtraChecks | None) -> ExtraChecks:
    """``extra``'s checks and the ``waits`` check: how many waits are open and overdue."""

    def checks(timeout: float, store_ok: bool) -> Mapping[str, Check]:
        found = dict(extra(timeout, store_ok)) if extra is not None else {}
        found["waits"] = _timed(lambda: str(_ask(directory, "waits", "health", timeout)))
        return found

    return checks


def check_health(directory: Directory, timeout: float, extra: ExtraChecks | None = None) -> Health:
    """Probe each component through its actor, each within ``timeout`` seconds."""
    checks: dict[str, Check] = {}

    def pong(child: str) -> Callable[[], str]:
        return lambda: "answering" if _ask(directory, child, "ping", timeout) == "pong" else "bad answer"

    checks["store"] = _timed(pong("store"))
    checks["registry"] = _timed(pong("registry"))
    checks["lineage"] = _timed(pong("lineage"))

    def lineage_failures() -> str:
        count = _ask(directory, "lineage", "failure_count", timeout)
        if count:
            raise RuntimeError(f"{count} lineage record(s) failed to be written; see node.lineage.failures()")
        return "no lineage failures"

    checks["lineage_failures"] = _timed(lineage_failures)

    each: dict[str, tuple[str | None, float]] = {}

    def resources() -> str:
        each.update(run_checks(_ask(directory, "resources", "health_targets", timeout), timeout))
        problems = {name: problem for name, (problem, _ms) in each.items() if problem is not None}
        if problems:
            raise RuntimeError("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        return "all resources healthy"

    checks["resources"] = _timed(resources)
    for name, (problem, ms) in each.items():  # one check per resource (docs/resources.md)
        checks[f"resource:{name}"] = Check(problem is None, problem or "healthy", ms)

    def runners() -> str:
        sup = directory.lookup("runners")
        if sup is None or not sup.is_alive():
            raise RuntimeError("the runners' supervisor is not running")
        tree = sup.tree(timeout=timeout)
        alive = sum(1 for c in tree.children if c.status == "running")
        recent = datetime.now(UTC) - timedelta(minutes=1)
        restarted = sum(
            1
            for c in tree.children
            if c.restarts and c.started_at and datetime.fromisoformat(c.started_at) >= recent
        )
        if alive == 0:
            raise RuntimeError("no runner is alive")
        return f"{alive} runners alive, {restarted} restarted in the last minute"

    checks["runners"] = _timed(runners)
    if extra is not None:
        checks.update(extra(timeout, checks["store"].ok))
    if not checks["store"].ok:
        status: Literal["ok", "degraded", "down"] = "down"
    elif all(c.ok for c in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return Health(status, checks)
