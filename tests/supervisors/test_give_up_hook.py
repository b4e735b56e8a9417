"""``on_give_up``: what a supervisor that reached its restart intensity hands its owner."""

from __future__ import annotations

import threading
from typing import Any

from supervisors import Crashed, GaveUp, Shutdown, Supervisor
from supervisors.testing import CrashWorker, wait_until_restarted


def test_a_supervisor_that_gives_up_reports_its_last_exit_reasons() -> None:
    reports: list[GaveUp] = []
    reported = threading.Event()

    def on_give_up(gave_up: GaveUp) -> None:
        reports.append(gave_up)
        reported.set()

    sup = Supervisor.start(
        [CrashWorker.spec("w")], max_restarts=1, max_seconds=60, name="app", on_give_up=on_give_up
    )
    first, second = RuntimeError("first"), RuntimeError("second")
    old = sup.whereis("w")
    CrashWorker.crash(old, first)
    CrashWorker.crash(wait_until_restarted(sup, "w", previous=old), second)
    assert sup.wait_for_exit(5.0)
    assert reported.is_set()
    assert sup.exit_reason == Shutdown()  # as OTP: the give-up is a shutdown to the parent
    (report,) = reports
    assert (report.supervisor, report.child, report.max_restarts) == ("app", "w", 1)
    assert report.last_exits == (("w", Crashed(first)), ("w", Crashed(second)))
    assert "second" in report.describe()


def test_a_failing_hook_does_not_stop_the_give_up() -> None:
    def broken(_gave_up: Any) -> None:
        raise RuntimeError("hook broken")

    sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=0, on_give_up=broken)
    CrashWorker.crash(sup.whereis("w"))
    assert sup.wait_for_exit(5.0)
    assert sup.exit_reason == Shutdown()
