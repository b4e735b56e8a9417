"""The schedules' part of ``node.health()``: a schedule late by more than its interval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from flowstone._node.health import Check, ExtraChecks, ask_within, failure_detail

if TYPE_CHECKING:
    from flowstone._schedules.api import ScheduleAPI

__all__ = ["schedule_checks"]


def schedule_checks(api: ScheduleAPI, more: ExtraChecks | None) -> ExtraChecks:
    """``more``'s checks, plus ``schedules``: failed when a schedule is overdue."""

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
        return found

    return checks
