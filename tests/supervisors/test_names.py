"""Registered names (OTP's ``{local, Name}``, Elixir's ``name:``): stable across restarts."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from supervision_support import Harness

import supervisors
from supervisors import (
    AlreadyStartedError,
    ChildSpec,
    ChildSpecError,
    DynamicSupervisor,
    StartChildError,
    Supervisor,
    SupervisorError,
)
from supervisors.testing import CrashWorker, wait_for, wait_until_restarted


def test_a_registered_child_is_found_by_name_and_its_restart_takes_the_name_over(harness: Harness) -> None:
    sup = harness.start([ChildSpec("cache", CrashWorker.start, register="test-names.cache")])
    first = supervisors.whereis("test-names.cache")
    assert first is sup.whereis("cache")
    assert first.ask("ping") == "pong"
    CrashWorker.crash(first)
    second = wait_until_restarted(sup, "cache", previous=first)
    assert wait_for(lambda: supervisors.whereis("test-names.cache") is second)
    assert "test-names.cache" in supervisors.registered()


def test_a_name_is_released_when_its_actor_stops(harness: Harness) -> None:
    sup = harness.start([ChildSpec("cache", CrashWorker.start, register="test-names.released")])
    sup.terminate_child("cache")
    assert supervisors.whereis("test-names.released") is None
    assert "test-names.released" not in supervisors.registered()


def test_a_second_start_under_a_live_name_is_already_started_with_the_holder(harness: Harness) -> None:
    sup = harness.start([ChildSpec("one", CrashWorker.start, register="test-names.taken")])
    holder = sup.whereis("one")
    with pytest.raises(AlreadyStartedError) as caught:
        sup.start_child(ChildSpec("two", CrashWorker.start, register="test-names.taken"))
    assert caught.value.holder is holder
    assert caught.value.code == "already_started"
    assert isinstance(caught.value, SupervisorError)
    assert [c.id for c in sup.which_children()] == ["one"]
    with pytest.raises(StartChildError) as at_start:
        Supervisor.start([ChildSpec("three", CrashWorker.start, register="test-names.taken")])
    assert isinstance(at_start.value.__cause__, AlreadyStartedError)


def test_a_supervisor_registers_itself_and_a_second_one_is_refused() -> None:
    sup = Supervisor.start([CrashWorker.spec("w")], register="test-names.sup", name="app")
    try:
        found = supervisors.whereis("test-names.sup")
        assert found == sup
        assert found.which_child("w").status == "running"
        with pytest.raises(AlreadyStartedError) as caught:
            DynamicSupervisor.start(register="test-names.sup")
        assert caught.value.holder == sup
    finally:
        sup.stop()
    assert supervisors.whereis("test-names.sup") is None


def test_names_hold_actors_weakly_so_dropped_actors_leave_nothing() -> None:
    ref = CrashWorker.start()
    supervisors.register("test-names.weak", ref)
    assert supervisors.whereis("test-names.weak") is ref
    ref.stop()
    del ref
    gc.collect()
    assert supervisors.whereis("test-names.weak") is None
    assert "test-names.weak" not in supervisors.registered()


def test_unregister_releases_a_name_at_once() -> None:
    ref = CrashWorker.start()
    try:
        supervisors.register("test-names.unreg", ref)
        assert supervisors.unregister("test-names.unreg") is True
        assert supervisors.whereis("test-names.unreg") is None
    finally:
        ref.stop()


@pytest.mark.parametrize("bad", ["", 3, None.__class__])
def test_a_name_must_be_a_non_empty_str(bad: Any) -> None:
    with pytest.raises(ChildSpecError) as caught:
        ChildSpec("x", CrashWorker.start, register=bad)
    assert caught.value.code == "invalid_name"
    with pytest.raises(ChildSpecError):
        Supervisor.start([], register=bad)
