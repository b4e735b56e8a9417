"""The schedules' part of ``node.health()``: a schedule late by more than its interval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from flowstone._node.health import Check, ExtraChecks, ask_within, failure_detail

if TYPE_CHECKING:
    from flowstone._schedules.wiring import ScheduleLayer

__all__ = ["schedule_checks"]


def schedule_checks(layer: ScheduleLayer, more: ExtraChecks | None) -> ExtraChecks:
    """``more``'s checks, plus ``schedules`` (failed when a schedule is overdue) and
    ``sensors`` (failed while a sensor's last poll failed)."""
    api = layer.api

    def checks(timeout: float, store_ok: bool) -> Mapping[str, Check]:
        found = dict(more(timeout, store_ok)) if more is not None else {}
        try:
            late = ask_within(api._actor(), "schedules", "late", timeout)
        except Exception as exc:  # noqa: BLE001 - a failing probe is the answer
            found["schedules"] = Check(False, failure_detail(exc))
            return found
        if late:
            shown = ", ".join(f"{name} ({seconds:.0f} s)" for name, seconds in sorted(late.items()))
            found["schedules"] = Check(False, f"late by more than their interval: {shown}")
        else:
            found["schedules"] = Check(True, "no schedule is late")
        try:
            failing = ask_within(layer.sensors._actor(), "sensors", "failing", timeout)
        except Exception as exc:  # noqa: BLE001 - a failing probe is the answer
            found["sensors"] = Check(False, failure_detail(exc))
            return found
        if failing:
            shown = "; ".join(f"{name}: {error}" for name, error in sorted(failing.items()))
            found["sensors"] = Check(False, f"last poll failed: {shown}")
        else:
            found["sensors"] = Check(True, "no sensor is failing")
        return found

    return checks
