"""Nested trees, restart intensity, backoff on a manual clock, and tree inspection."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from supervision_support import counts, exited

from supervisors import (
    Backoff,
    ChildSpec,
    Crashed,
    DynamicSupervisor,
    Shutdown,
    Supervisor,
    SupervisorError,
    SupervisorRef,
    TreeNode,
    render_tree,
)
from supervisors.testing import CrashWorker, ManualClock, wait_for, wait_until_restarted

TIMEOUT = 5.0


def crash_and_settle(sup: SupervisorRef, child_id: str, error: BaseException | None = None) -> Any:
    """Crash a child; return its old ref once the supervisor has handled the exit."""
    ref = sup.whereis(child_id)
    assert ref is not None, f"{child_id} is not running"
    event = exited(ref)
    CrashWorker.crash(ref, error)
    assert event.wait(TIMEOUT)
    try:
        sup.count_children()  # a round trip behind the queued exit
    except SupervisorError:
        assert sup.wait_for_exit(TIMEOUT)
    return ref


class StartThenFail:
    """A start function that works ``successes`` times, then always raises."""

    def __init__(self, successes: int = 1) -> None:
        self.successes = successes
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.calls > self.successes:
            raise RuntimeError("cannot start any more")
        return CrashWorker.start()


class TestIntensity:
    def test_crashes_spaced_wider_than_the_window_never_trip_the_limit(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'multiple_restarts' (S(one_for_one,1,1), 4 crashes 2.1 s apart)."""
        clock = ManualClock()
        sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=1, max_seconds=1, clock=clock)
        stop_later.append(sup)
        for _ in range(4):
            old = crash_and_settle(sup, "w")
            wait_until_restarted(sup, "w", previous=old)
            clock.advance(2.1)
        assert sup.is_alive()
        assert sup.which_child("w").restarts == 4

    def test_a_clock_that_is_falsy_is_still_the_one_the_window_reads(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """Issue 12 item 13: an optional component is tested with ``is None``, not truthiness."""

        class EmptyLookingClock(ManualClock):
            def __len__(self) -> int:
                return 0

        clock = EmptyLookingClock()
        sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=1, max_seconds=1, clock=clock)
        stop_later.append(sup)
        for _ in range(3):
            old = crash_and_settle(sup, "w")
            wait_until_restarted(sup, "w", previous=old)
            clock.advance(2.1)
        assert sup.is_alive()

    def test_two_crashes_inside_the_window_end_the_supervisor_with_shutdown(self) -> None:
        """OTP supervisor_SUITE: 'multiple_restarts' (control: the same crashes, no gap)."""
        clock = ManualClock()
        sup = Supervisor.start(
            [CrashWorker.spec("a"), CrashWorker.spec("w")],
            max_restarts=1,
            max_seconds=1,
            clock=clock,
        )
        a = sup.whereis("a")
        crash_and_settle(sup, "w")
        clock.advance(0.5)
        crash_and_settle(sup, "w")
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()
        assert a.exit_reason == Shutdown()

    def test_the_window_slides_rather_than_resetting(self) -> None:
        """OTP supervisor.erl add_restart: restarts older than max_seconds drop out one by one."""
        clock = ManualClock()
        sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=2, max_seconds=10, clock=clock)
        crash_and_settle(sup, "w")  # t=0
        clock.advance(6)
        crash_and_settle(sup, "w")  # t=6: 2 in window
        clock.advance(5)
        crash_and_settle(sup, "w")  # t=11: t=0 has left, 2 in window
        assert sup.is_alive()
        clock.advance(1)
        crash_and_settle(sup, "w")  # t=12: 6, 11, 12 → 3 > 2
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    def test_the_window_counts_restarts_across_all_children(self) -> None:
        """OTP supervisor.erl docs: intensity is per supervisor, not per child."""
        clock = ManualClock()
        sup = Supervisor.start([CrashWorker.spec("a"), CrashWorker.spec("b")], max_restarts=1, clock=clock)
        crash_and_settle(sup, "a")
        assert sup.is_alive()
        crash_and_settle(sup, "b")
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    def test_max_restarts_zero_gives_up_at_the_first_crash(self) -> None:
        """OTP supervisor.erl add_restart: with intensity 0 the first crash ends it."""
        sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=0)
        crash_and_settle(sup, "w")
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    def test_a_child_supervisor_that_gives_up_is_restarted_by_a_permanent_parent(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """OTP supervisor_SUITE: 'one_for_one_escalation' (the parent applies its strategy)."""
        parent = Supervisor.start(
            [
                CrashWorker.spec("sibling"),
                ChildSpec(
                    "inner",
                    lambda: Supervisor.start([CrashWorker.spec("w")], max_restarts=0),
                    type="supervisor",
                ),
            ],
            name="parent",
        )
        stop_later.append(parent)
        inner, sibling = parent.whereis("inner"), parent.whereis("sibling")
        CrashWorker.crash(inner.whereis("w"))
        new_inner = wait_until_restarted(parent, "inner", previous=inner)
        assert inner.exit_reason == Shutdown()
        assert new_inner.whereis("w").ask("ping", timeout=TIMEOUT) == "pong"
        assert parent.whereis("sibling") is sibling
        assert parent.which_child("inner").last_exit == Shutdown()

    def test_a_transient_child_supervisor_that_gives_up_stays_down(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """Elixir Supervisor docs, 'Exit reasons and restarts': a transient supervisor that
        exceeds its intensity exits with shutdown and is not restarted."""
        parent = Supervisor.start(
            [
                ChildSpec(
                    "inner",
                    lambda: Supervisor.start([CrashWorker.spec("w")], max_restarts=0),
                    type="supervisor",
                    restart="transient",
                )
            ],
            name="parent",
        )
        stop_later.append(parent)
        inner = parent.whereis("inner")
        event = exited(inner)
        CrashWorker.crash(inner.whereis("w"))
        assert event.wait(TIMEOUT)
        info = parent.which_child("inner")
        assert (info.status, info.ref, info.last_exit) == ("terminated", None, Shutdown())
        assert parent.is_alive()

    def test_giving_up_escalates_through_every_level(self) -> None:
        """OTP supervisor_SUITE: 'one_for_one_escalation' (two levels, both exhausted)."""
        top = Supervisor.start(
            [
                CrashWorker.spec("top_worker"),
                ChildSpec(
                    "inner",
                    lambda: Supervisor.start([CrashWorker.spec("w")], max_restarts=0),
                    type="supervisor",
                ),
            ],
            max_restarts=0,
        )
        inner, top_worker = top.whereis("inner"), top.whereis("top_worker")
        CrashWorker.crash(inner.whereis("w"))
        assert top.wait_for_exit(TIMEOUT)
        assert (inner.exit_reason, top.exit_reason) == (Shutdown(), Shutdown())
        assert top_worker.exit_reason == Shutdown()


class TestNestedTree:
    def test_a_failing_dynamic_subtree_restarts_the_whole_one_for_all_tree(self) -> None:
        """OTP supervisor_SUITE: 'tree'."""
        top = Supervisor.start(
            [
                ChildSpec(
                    "s1",
                    lambda: Supervisor.start([CrashWorker.spec("w1"), CrashWorker.spec("w2")], name="s1"),
                    type="supervisor",
                ),
                ChildSpec(
                    "s2",
                    lambda: DynamicSupervisor.start(name="s2", max_restarts=3),
                    type="supervisor",
                ),
                ChildSpec(
                    "s3",
                    lambda: Supervisor.start([], name="s3"),
                    type="supervisor",
                    restart="transient",
                ),
            ],
            strategy="one_for_all",
            name="top",
        )
        try:
            s1, s2, s3 = (top.whereis(i) for i in ("s1", "s2", "s3"))
            workers = {w: s1.whereis(w) for w in ("w1", "w2")}
            top.terminate_child("s3")
            assert top.which_child("s3").status == "terminated"
            assert s3.exit_reason == Shutdown()

            d1 = s2.start_child(CrashWorker.spec("d1"))
            d2 = s2.start_child(CrashWorker.spec("d2"))
            CrashWorker.crash(d1)
            wait_until_restarted(s2, "d1", previous=d1)
            assert s2.whereis("d2") is d2
            assert top.whereis("s1") is s1
            assert top.whereis("s2") is s2
            assert {w: s1.whereis(w) for w in ("w1", "w2")} == workers

            flaky = StartThenFail()
            s2.start_child(ChildSpec("flaky", flaky))
            CrashWorker.crash(s2.whereis("flaky"))
            assert s2.wait_for_exit(TIMEOUT)
            assert s2.exit_reason == Shutdown()
            assert flaky.calls > 1

            new_s1 = wait_until_restarted(top, "s1", previous=s1)
            new_s2 = wait_until_restarted(top, "s2", previous=s2)
            new_s3 = wait_until_restarted(top, "s3", previous=s3)
            assert top.count_children() == counts(3, 3, 3, 0)
            assert s1.exit_reason == Shutdown()
            assert not d2.is_alive()
            for name, old in workers.items():
                assert not old.is_alive()
                fresh = new_s1.whereis(name)
                assert fresh is not None
                assert fresh is not old
                assert fresh.ask("ping", timeout=TIMEOUT) == "pong"
            assert new_s2.which_children() == []
            assert new_s2.count_children() == counts(0, 0, 0, 0)
            assert new_s3.is_alive()
        finally:
            top.stop()


def _backoff_spec(**backoff: float) -> ChildSpec:
    values = {"initial": 1.0, "max": 4.0, "factor": 2.0, "jitter": 0.0, "reset_after": 30.0}
    values.update(backoff)
    return ChildSpec("w", CrashWorker.start, backoff=Backoff(**values))


def crash_and_expect_delay(sup: SupervisorRef, clock: ManualClock, delay: float) -> Any:
    """Crash ``w``; check it waits exactly ``delay`` seconds, restarting; return its new ref."""
    old = crash_and_settle(sup, "w")
    assert sup.which_child("w").status == "restarting"
    assert sup.whereis("w") is None
    clock.advance(delay - 0.25)
    assert clock.pending == 1, "restarted before its delay"
    assert sup.which_child("w").status == "restarting"
    clock.advance(0.25)
    assert clock.pending == 0
    new = wait_until_restarted(sup, "w", previous=old)
    assert new.ask("ping", timeout=TIMEOUT) == "pong"
    return new


class TestBackoff:
    def test_restarts_wait_initial_then_grow_by_factor_up_to_max(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """Issue 2, Backoff: initial, then × factor, capped at max (jitter 0)."""
        clock = ManualClock()
        sup = Supervisor.start(
            [CrashWorker.spec("other"), _backoff_spec()],
            max_restarts=100,
            max_seconds=1000,
            clock=clock,
        )
        stop_later.append(sup)
        other = sup.whereis("other")
        for delay in (1.0, 2.0, 4.0, 4.0):
            crash_and_expect_delay(sup, clock, delay)
        assert sup.which_child("w").restarts == 4
        assert sup.whereis("other") is other

    def test_the_delay_resets_after_the_child_has_run_reset_after_seconds(
        self, stop_later: list[SupervisorRef]
    ) -> None:
        """Issue 2, Backoff: reset after ``reset_after`` seconds of running."""
        clock = ManualClock()
        sup = Supervisor.start([_backoff_spec(max=30.0)], max_restarts=100, max_seconds=1000, clock=clock)
        stop_later.append(sup)
        crash_and_expect_delay(sup, clock, 1.0)
        crash_and_expect_delay(sup, clock, 2.0)
        clock.advance(29.75)  # not quite reset_after
        crash_and_expect_delay(sup, clock, 4.0)
        clock.advance(30.0)
        crash_and_expect_delay(sup, clock, 1.0)
        crash_and_expect_delay(sup, clock, 2.0)

    def test_a_waiting_restart_is_counted_only_when_attempted(self) -> None:
        """Issue 2, Backoff: a restart counts toward intensity when it is attempted."""
        clock = ManualClock()
        sup = Supervisor.start([_backoff_spec()], max_restarts=0, clock=clock)
        crash_and_settle(sup, "w")
        assert sup.is_alive()
        assert sup.which_child("w").status == "restarting"
        clock.advance(1.0)
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    def test_delayed_restarts_use_up_the_intensity(self) -> None:
        """Issue 2, Backoff: delayed restarts count like immediate ones."""
        clock = ManualClock()
        sup = Supervisor.start([_backoff_spec()], max_restarts=1, max_seconds=100, clock=clock)
        crash_and_expect_delay(sup, clock, 1.0)
        crash_and_settle(sup, "w")
        assert sup.is_alive()
        clock.advance(2.0)
        assert sup.wait_for_exit(TIMEOUT)
        assert sup.exit_reason == Shutdown()

    def test_a_waiting_child_shows_restarting_in_the_tree(self, stop_later: list[SupervisorRef]) -> None:
        """Issue 2, Backoff: waiting children show ``restarting``."""
        clock = ManualClock()
        sup = Supervisor.start([_backoff_spec()], clock=clock, name="root")
        stop_later.append(sup)
        crash_and_settle(sup, "w")
        (node,) = sup.tree().children
        assert (node.id, node.status) == ("w", "restarting")
        assert sup.count_children() == counts(1, 0, 0, 1)

    def test_terminate_child_cancels_a_waiting_restart(self, stop_later: list[SupervisorRef]) -> None:
        """OTP supervisor_SUITE: 'hanging_restart_loop' (terminate_child during the loop)."""
        clock = ManualClock()
        sup = Supervisor.start([_backoff_spec()], clock=clock)
        stop_later.append(sup)
        crash_and_settle(sup, "w")
        sup.terminate_child("w")
        assert clock.pending == 0
        clock.advance(10.0)
        info = sup.which_child("w")
        assert (info.status, info.ref) == ("terminated", None)


@pytest.fixture
def inspected() -> Iterator[tuple[SupervisorRef, threading.Event]]:
    """A small tree: two workers (one crashed once), a pool with two children, and a
    transient worker that finished; plus an event that keeps ``api`` busy until set."""
    release = threading.Event()
    sup = Supervisor.start(
        [
            CrashWorker.spec("api"),
            CrashWorker.spec("flaky"),
            ChildSpec("pool", lambda: DynamicSupervisor.start(name="pool"), type="supervisor"),
            CrashWorker.spec("batch", restart="transient"),
        ],
        name="root",
    )
    try:
        pool = sup.whereis("pool")
        pool.start_child(CrashWorker.spec("conn"))
        pool.start_child(CrashWorker.spec("conn"))
        old = crash_and_settle(sup, "flaky", RuntimeError("kaboom"))
        wait_until_restarted(sup, "flaky", previous=old)
        batch = sup.whereis("batch")
        event = exited(batch)
        CrashWorker.finish_with(batch)
        assert event.wait(TIMEOUT)
        yield sup, release
    finally:
        release.set()
        sup.stop()


class TestTreeSnapshot:
    def test_the_snapshot_shows_kinds_ids_strategies_and_statuses(
        self, inspected: tuple[SupervisorRef, threading.Event]
    ) -> None:
        """Issue 2, TreeNode: kind, id, strategy, status of every node; the root's id is
        the supervisor's name."""
        sup, _ = inspected
        tree = sup.tree()
        assert (tree.kind, tree.id, tree.strategy, tree.status) == (
            "supervisor",
            "root",
            "one_for_one",
            "running",
        )
        summary = [(n.kind, n.id, n.strategy, n.status) for n in tree.children]
        assert summary == [
            ("worker", "api", None, "running"),
            ("worker", "flaky", None, "running"),
            ("dynamic_supervisor", "pool", "one_for_one", "running"),
            ("worker", "batch", None, "terminated"),
        ]
        pool = tree.children[2]
        assert [(n.kind, n.id, n.status) for n in pool.children] == [
            ("worker", "conn", "running"),
            ("worker", "conn", "running"),
        ]
        assert len(tree.walk()) == 7

    def test_the_snapshot_shows_restarts_and_the_last_crash_with_its_traceback(
        self, inspected: tuple[SupervisorRef, threading.Event]
    ) -> None:
        """Issue 2, TreeNode: restarts and last exit reason (with traceback text)."""
        sup, _ = inspected
        nodes = {n.id: n for n in sup.tree().children}
        flaky = nodes["flaky"]
        assert flaky.restarts == 1
        assert flaky.last_exit is not None
        assert "RuntimeError" in flaky.last_exit
        assert "kaboom" in flaky.last_exit
        assert flaky.last_exit_traceback is not None
        assert "Traceback (most recent call last)" in flaky.last_exit_traceback
        assert "RuntimeError: kaboom" in flaky.last_exit_traceback
        assert sup.which_child("flaky").last_exit.is_crash
        assert isinstance(sup.which_child("flaky").last_exit, Crashed)
        batch = nodes["batch"]
        assert (batch.restarts, batch.last_exit, batch.last_exit_traceback) == (
            0,
            "shutdown",
            None,
        )
        assert (nodes["api"].restarts, nodes["api"].last_exit) == (0, None)

    def test_running_nodes_carry_a_start_time(self, inspected: tuple[SupervisorRef, threading.Event]) -> None:
        """Issue 2, TreeNode: started_at (ISO 8601)."""
        sup, _ = inspected
        nodes = {n.id: n for n in sup.tree().children}
        started = dt.datetime.fromisoformat(nodes["api"].started_at)
        assert started.tzinfo is not None
        assert abs((dt.datetime.now(dt.UTC) - started).total_seconds()) < 60
        assert nodes["batch"].started_at is None

    def test_the_snapshot_shows_mailbox_depth(self, inspected: tuple[SupervisorRef, threading.Event]) -> None:
        """Issue 2, TreeNode: mailbox depth."""
        sup, release = inspected
        api = sup.whereis("api")
        CrashWorker.block(api, release)
        for _ in range(3):
            api.tell("ping")

        def api_mailbox() -> int:
            return next(n.mailbox for n in sup.tree().children if n.id == "api")

        wait_for(lambda: api_mailbox() == 3, TIMEOUT, message="mailbox depth 3")
        release.set()
        wait_for(lambda: api_mailbox() == 0, TIMEOUT, message="mailbox drained")

    def test_a_snapshot_is_frozen(self, inspected: tuple[SupervisorRef, threading.Event]) -> None:
        """Issue 2, TreeNode: a frozen snapshot."""
        sup, _ = inspected
        tree = sup.tree()
        with pytest.raises(dataclasses.FrozenInstanceError):
            tree.id = "other"  # type: ignore[misc]
        sup.terminate_child("api")
        assert tree.children[0].status == "running"

    def test_to_dict_is_json_serialisable_and_round_trips(
        self, inspected: tuple[SupervisorRef, threading.Event]
    ) -> None:
        """Issue 2, TreeNode: JSON-serialisable (``to_dict``), rebuilt with ``from_dict``."""
        sup, _ = inspected
        tree = sup.tree()
        data = tree.to_dict()
        text = json.dumps(data)
        assert json.loads(text) == data
        assert TreeNode.from_dict(data) == tree
        assert TreeNode.from_dict(json.loads(text)) == tree
        assert [c["id"] for c in data["children"]] == ["api", "flaky", "pool", "batch"]
        assert data["children"][2]["children"][0]["kind"] == "worker"


class TestRenderTree:
    def test_render_tree_names_every_node_and_draws_branches(
        self, inspected: tuple[SupervisorRef, threading.Event]
    ) -> None:
        """Issue 2: ``render_tree(node)`` draws the tree like pstree."""
        sup, _ = inspected
        tree = sup.tree()
        text = render_tree(tree)
        lines = text.splitlines()
        assert len(lines) == len(tree.walk())
        assert lines[0].startswith("root")
        for node_id in ("root", "api", "flaky", "pool", "batch", "conn"):
            assert node_id in text
        assert "├──" in text
        assert "└──" in text
        assert lines[1].startswith("├── api")
        assert lines[-1].startswith("└── batch")
        assert any(line.startswith("│   ├── conn") for line in lines)
        assert any(line.startswith("│   └── conn") for line in lines)
        flaky_line = next(line for line in lines if "flaky" in line)
        assert "restarts=1" in flaky_line
        assert "terminated" in next(line for line in lines if "batch" in line)

    def test_render_tree_of_a_lone_supervisor_is_one_line(self) -> None:
        """Issue 2: ``render_tree`` of a supervisor without children."""
        sup = Supervisor.start([], name="alone")
        try:
            text = render_tree(sup.tree())
        finally:
            sup.stop()
        assert text.splitlines() == [text]
        assert text.startswith("alone")
        assert "├──" not in text
        assert "└──" not in text
