"""Process children: a child in its own OS process can really be killed (SIGTERM, then
SIGKILL), and a segfault, ``os._exit`` or an outside kill is an ordinary exit reason."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from process_targets import failing_target, target
from supervision_support import Harness

from supervisors import (
    ChildSpec,
    ChildSpecError,
    Crashed,
    DynamicSupervisor,
    Killed,
    ProcessChild,
    ProcessChildError,
    ProcessExitError,
    Shutdown,
    StartChildError,
    Supervisor,
)
from supervisors.testing import wait_for, wait_until_restarted

TIMEOUT = 10.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _spec(**options: Any) -> ChildSpec:
    return ChildSpec("proc", target, isolation="process", **options)


def _exit_of(harness_sup: Any) -> ProcessExitError:
    reason = harness_sup.which_child("proc").last_exit
    assert isinstance(reason, Crashed)
    assert isinstance(reason.exception, ProcessExitError)
    return reason.exception


def test_a_process_child_answers_from_its_own_process(harness: Harness) -> None:
    sup = harness.start([_spec()])
    ref = sup.whereis("proc")
    assert ref.ask("ping", timeout=TIMEOUT) == "pong"
    pid = ref.ask("pid", timeout=TIMEOUT)
    assert pid != os.getpid()
    assert ref.ask({"nested": [1, 2]}, timeout=TIMEOUT) == {"nested": [1, 2]}  # through JSON
    sup.terminate_child("proc")
    assert not _alive(pid)
    assert sup.which_child("proc").last_exit == Shutdown()


@pytest.mark.parametrize(
    ("how", "exitcode"),
    [("segfault", -signal.SIGSEGV), ("exit", 3), ("sigkill", -signal.SIGKILL)],
)
def test_a_process_that_dies_is_an_ordinary_exit_and_is_restarted(
    harness: Harness, how: str, exitcode: int
) -> None:
    sup = harness.start([_spec()])
    ref = sup.whereis("proc")
    pid = ref.ask("pid", timeout=TIMEOUT)
    if how == "sigkill":
        os.kill(pid, signal.SIGKILL)
    else:
        with pytest.raises(ProcessExitError):
            ref.ask(how, timeout=TIMEOUT)
    new = wait_until_restarted(sup, "proc", timeout=TIMEOUT, previous=ref)
    assert _exit_of(sup).exitcode == exitcode
    assert new.ask("pid", timeout=TIMEOUT) != pid
    assert not _alive(pid)


def test_an_error_in_the_target_reaches_the_caller_and_restarts_the_child(harness: Harness) -> None:
    sup = harness.start([_spec()])
    ref = sup.whereis("proc")
    with pytest.raises(ProcessChildError, match="ValueError: bad message"):
        ref.ask("raise", timeout=TIMEOUT)
    new = wait_until_restarted(sup, "proc", timeout=TIMEOUT, previous=ref)
    assert new.ask("ping", timeout=TIMEOUT) == "pong"


def test_a_child_hanging_past_its_shutdown_timeout_is_killed(harness: Harness) -> None:
    sup = harness.start([_spec(shutdown=0.3)])
    ref = sup.whereis("proc")
    pid = ref.ask("pid", timeout=TIMEOUT)
    assert ref.ask("stubborn", timeout=TIMEOUT) == "ok"
    ref.tell("hang")
    began = time.monotonic()
    sup.terminate_child("proc")
    assert time.monotonic() - began < 0.3 + 1.0
    assert not _alive(pid)
    assert sup.which_child("proc").last_exit == Killed()


def test_brutal_kill_ends_a_hung_child_at_once(harness: Harness) -> None:
    sup = harness.start([_spec(shutdown="brutal_kill")])
    ref = sup.whereis("proc")
    pid = ref.ask("pid", timeout=TIMEOUT)
    ref.tell("hang")
    sup.terminate_child("proc")
    assert wait_for(lambda: not _alive(pid))


def test_a_start_that_fails_in_the_child_process_fails_the_start() -> None:
    with pytest.raises(StartChildError) as caught:
        Supervisor.start([ChildSpec("bad", failing_target, isolation="process")])
    assert "cannot start here" in str(caught.value.__cause__)


def test_extra_arguments_reach_the_start_function_in_the_child() -> None:
    sup = DynamicSupervisor.start(extra_arguments=("hello-",))
    try:
        ref = sup.start_child(ChildSpec("p", target, isolation="process"))
        assert ref.ask("ping", timeout=TIMEOUT) == "hello-pong"
    finally:
        sup.stop()


def test_process_child_can_be_used_directly_in_any_start_function(harness: Harness) -> None:
    sup = harness.start([ChildSpec("direct", lambda: ProcessChild.start(target, "x-", context="spawn"))])
    assert sup.whereis("direct").ask("ping", timeout=TIMEOUT) == "x-pong"


def test_isolation_is_validated() -> None:
    with pytest.raises(ChildSpecError) as caught:
        ChildSpec("x", target, isolation="vm")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_isolation"
    with pytest.raises(ChildSpecError):
        ChildSpec("x", target, isolation="process", type="supervisor")


@pytest.mark.slow
def test_a_storm_of_100_restarts_within_the_intensity_limits_leaves_one_process(harness: Harness) -> None:
    sup = harness.start([_spec()], max_restarts=150, max_seconds=600.0)
    pids = set()
    for _ in range(100):
        ref = wait_for(lambda: sup.whereis("proc"), timeout=TIMEOUT)
        pids.add(ref.ask("pid", timeout=TIMEOUT))
        with pytest.raises(ProcessExitError):
            ref.ask("exit", timeout=TIMEOUT)
        wait_until_restarted(sup, "proc", timeout=TIMEOUT, previous=ref)
    assert sup.which_child("proc").restarts == 100
    assert sup.is_alive()
    assert len(pids) == 100
    assert not any(_alive(pid) for pid in pids)
