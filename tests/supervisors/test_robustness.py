"""Robustness: crash storms, thread hygiene, BaseException isolation, stuck children,
and the one-way dependency between ``supervisors`` and ``flowstone``."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import supervisors
from supervisors import (
    Backoff,
    ChildSpec,
    Crashed,
    Down,
    DynamicSupervisor,
    Killed,
    Normal,
    Shutdown,
    Supervisor,
    SupervisorError,
    monitor,
)
from supervisors.testing import CrashWorker, wait_for, wait_until_restarted

TIMEOUT = 5.0


def threads_since(baseline: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in baseline and t.is_alive()]


class TestCrashStorm:
    def test_a_thousand_crashes_across_fifty_children_leave_exact_counts(self) -> None:
        """Issue 2: a crash storm (1,000 crashes across 50 children, no deadlock)."""
        ids = [f"c{i:02d}" for i in range(50)]
        sup = Supervisor.start([CrashWorker.spec(i) for i in ids], max_restarts=100_000, max_seconds=5)
        try:

            def storm(my_ids: list[str]) -> int:
                crashes = 0
                for _ in range(20):
                    olds = []
                    for child_id in my_ids:
                        old = sup.whereis(child_id)
                        CrashWorker.crash(old)
                        olds.append(old)
                        crashes += 1
                    for child_id, old in zip(my_ids, olds, strict=True):
                        wait_until_restarted(sup, child_id, TIMEOUT, previous=old)
                return crashes

            with ThreadPoolExecutor(max_workers=5) as pool:
                groups = [ids[i::5] for i in range(5)]
                total = sum(pool.map(storm, groups))
            assert total == 1000
            assert sup.is_alive()
            assert sup.count_children() == {
                "specs": 50,
                "active": 50,
                "supervisors": 0,
                "workers": 50,
            }
            infos = sup.which_children()
            assert [i.id for i in infos] == ids
            assert all(i.status == "running" for i in infos)
            assert sum(i.restarts for i in infos) == 1000
            assert all(i.restarts == 20 for i in infos)
            for info in infos:
                assert info.ref.ask("ping", timeout=TIMEOUT) == "pong"
        finally:
            sup.stop(timeout=30)

    def test_admin_calls_stay_answered_during_a_storm(self) -> None:
        """OTP-9549: the supervisor serves calls between restarts."""
        sup = DynamicSupervisor.start(max_restarts=100_000)
        try:
            refs = [sup.start_child(CrashWorker.spec(f"w{i}")) for i in range(20)]
            stop = threading.Event()
            seen: list[int] = []

            def poll() -> None:
                while not stop.is_set():
                    seen.append(sup.count_children()["specs"])

            poller = threading.Thread(target=poll)
            poller.start()
            try:
                for _ in range(10):
                    for i, ref in enumerate(refs):
                        CrashWorker.crash(ref)
                        refs[i] = wait_until_restarted(sup, f"w{i}", previous=ref)
            finally:
                stop.set()
                poller.join(TIMEOUT)
            assert seen
            assert set(seen) == {20}
            assert sup.count_children()["active"] == 20
        finally:
            sup.stop()


class TestThreadHygiene:
    def test_stop_returns_the_thread_count_to_its_baseline(self) -> None:
        """Issue 2: no thread leaks after ``stop()`` (thread count back to baseline)."""
        baseline = set(threading.enumerate())
        count = threading.active_count()
        top = Supervisor.start(
            [
                CrashWorker.spec("a"),
                ChildSpec(
                    "inner",
                    lambda: Supervisor.start([CrashWorker.spec("x"), CrashWorker.spec("y")]),
                    type="supervisor",
                ),
                ChildSpec("pool", DynamicSupervisor.start, type="supervisor"),
                # A real-clock backoff: its timer thread must go too.
                ChildSpec("slow", CrashWorker.start, backoff=Backoff(initial=30.0)),
            ],
            strategy="one_for_one",
        )
        pool = top.whereis("pool")
        for _ in range(100):
            pool.start_child(CrashWorker.spec("p"))
        old = top.whereis("a")
        CrashWorker.crash(old)
        wait_until_restarted(top, "a", previous=old)
        CrashWorker.crash(top.whereis("slow"))
        wait_for(lambda: top.which_child("slow").status == "restarting", TIMEOUT)
        assert threading.active_count() > count + 100
        top.stop(timeout=TIMEOUT)
        wait_for(lambda: not threads_since(baseline), TIMEOUT, message="threads back to baseline")
        assert threading.active_count() == count

    def test_a_failed_start_leaves_no_thread_behind(self) -> None:
        """OTP supervisor_SUITE: 'sup_start_fail' (rollback stops what was started)."""
        baseline = set(threading.enumerate())
        with pytest.raises(SupervisorError):
            Supervisor.start(
                [
                    CrashWorker.spec("a"),
                    CrashWorker.spec("b"),
                    CrashWorker.spec("bad", fail_start=RuntimeError("no")),
                ]
            )
        wait_for(lambda: not threads_since(baseline), TIMEOUT, message="threads back to baseline")


class TestBaseExceptionIsolation:
    @pytest.mark.parametrize("error", [SystemExit(3), KeyboardInterrupt()], ids=type)
    def test_a_base_exception_in_a_supervised_actor_restarts_it_and_spares_its_siblings(
        self, error: BaseException
    ) -> None:
        """Issue 2: a BaseException in one actor leaves every other actor alive."""
        bystander = CrashWorker.start()
        other_sup = Supervisor.start([CrashWorker.spec("z")])
        sup = Supervisor.start([CrashWorker.spec(i) for i in ("a", "b", "c")])
        try:
            siblings = {i: sup.whereis(i) for i in ("a", "c")}
            victim = sup.whereis("b")
            CrashWorker.crash(victim, error)
            new = wait_until_restarted(sup, "b", previous=victim)
            assert victim.exit_reason == Crashed(error)
            assert sup.which_child("b").last_exit == Crashed(error)
            assert new.ask("ping", timeout=TIMEOUT) == "pong"
            for child_id, ref in siblings.items():
                assert sup.whereis(child_id) is ref
                assert ref.ask("ping", timeout=TIMEOUT) == "pong"
            assert bystander.ask("ping", timeout=TIMEOUT) == "pong"
            assert other_sup.whereis("z").ask("ping", timeout=TIMEOUT) == "pong"
            assert sup.is_alive()
            assert other_sup.is_alive()
        finally:
            sup.stop()
            other_sup.stop()
            bystander.stop()


class TestStuckChild:
    def test_stop_reports_a_stuck_child_killed_after_its_budget_and_returns(self) -> None:
        """OTP supervisor_SUITE: 'sup_stop_timeout' (the stuck child ends killed at ~budget)."""
        release = threading.Event()
        sup = Supervisor.start(
            [
                CrashWorker.spec("polite", shutdown=1.0),
                CrashWorker.spec("stuck", shutdown=0.3, stop_blocker=release),
            ]
        )
        polite, stuck = sup.whereis("polite"), sup.whereis("stuck")
        try:
            with capture_logs() as logs:
                began = time.monotonic()
                assert sup.stop(timeout=TIMEOUT) is True
                elapsed = time.monotonic() - began
            assert 0.25 <= elapsed < 1.0
            assert sup.exit_reason == Normal()
            assert not sup.is_alive()
            exits = {e["child"]: e["reason"] for e in logs if e["event"] == "supervisor.child_exited"}
            assert exits == {"stuck": "killed", "polite": "shutdown"}
            assert polite.exit_reason == Shutdown()
            assert stuck.wait_for_exit(0) is False  # abandoned: its thread still runs
        finally:
            release.set()
        assert stuck.wait_for_exit(TIMEOUT)

    def test_a_killed_childs_monitors_see_killed(self) -> None:
        """OTP supervisor_SUITE: 'sup_stop_timeout' (the stuck child's DOWN reason is killed)."""
        release = threading.Event()
        sup = Supervisor.start([CrashWorker.spec("stuck", shutdown=0.1, stop_blocker=release)])
        stuck = sup.whereis("stuck")
        downs: list[Down] = []
        done = threading.Event()
        monitor(stuck, lambda down: (downs.append(down), done.set()))
        try:
            sup.stop(timeout=TIMEOUT)
        finally:
            release.set()
        assert done.wait(TIMEOUT)
        assert downs == [Down(stuck, Killed())]
        assert stuck.exit_reason == Killed()

    def test_a_stuck_child_is_not_restarted_while_its_old_thread_lives(self) -> None:
        """Issue 2, Shutdown: no two live instances of one child id (one_for_all restart
        with a sibling stuck in its cleanup)."""
        release = threading.Event()
        events: list[str] = []
        sup = Supervisor.start(
            [
                CrashWorker.spec("a", events=events),
                CrashWorker.spec("b", shutdown=0.1, stop_blocker=release, events=events),
            ],
            strategy="one_for_all",
        )
        try:
            old_a, old_b = sup.whereis("a"), sup.whereis("b")
            CrashWorker.crash(old_a)
            wait_until_restarted(sup, "a", previous=old_a)
            info = sup.which_child("b")
            assert info.status != "running"
            assert info.ref is None
            assert events.count("start:b") == 1
            assert old_b.wait_for_exit(0) is False
            assert sup.count_children()["active"] == 1
            release.set()
            new_b = wait_until_restarted(sup, "b", previous=old_b)
            assert old_b.wait_for_exit(0)
            assert new_b.ask("ping", timeout=TIMEOUT) == "pong"
            assert [e for e in events if e.endswith(":b")] == ["start:b", "stop:b", "start:b"]
        finally:
            release.set()
            sup.stop()

    def test_restart_child_is_refused_while_the_killed_instance_still_runs(self) -> None:
        """Issue 2, Shutdown: a killed child is never restarted while its old thread lives."""
        release = threading.Event()
        events: list[str] = []
        sup = Supervisor.start([CrashWorker.spec("b", shutdown=0.1, stop_blocker=release, events=events)])
        try:
            old = sup.whereis("b")
            began = time.monotonic()
            sup.terminate_child("b")
            assert time.monotonic() - began < 1.0
            info = sup.which_child("b")
            assert (info.status, info.last_exit) == ("terminated", Killed())
            with pytest.raises(SupervisorError) as raised:
                sup.restart_child("b")
            assert raised.value.code == "running"
            assert events == ["start:b"]
            release.set()
            assert old.wait_for_exit(TIMEOUT)
            new = sup.restart_child("b")
            assert new.ask("ping", timeout=TIMEOUT) == "pong"
            assert events == ["start:b", "stop:b", "start:b"]
        finally:
            release.set()
            sup.stop()


class TestDependencyDirection:
    def _imported_modules(self, path: Path) -> set[str]:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None))
                in {"import_module", "__import__"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(str(node.args[0].value))
        return names

    def test_supervisors_never_imports_flowstone(self) -> None:
        """STYLE.md: ``supervisors`` never imports ``flowstone``."""
        package = Path(supervisors.__file__).parent
        sources = sorted(package.rglob("*.py"))
        assert len(sources) >= 10
        offenders = {
            str(path.relative_to(package)): sorted(
                name
                for name in self._imported_modules(path)
                if name == "flowstone" or name.startswith("flowstone.")
            )
            for path in sources
        }
        assert {path: names for path, names in offenders.items() if names} == {}

    def test_the_scan_would_catch_a_flowstone_import(self, tmp_path: Path) -> None:
        """The scan above can fail: it sees every import form."""
        sample = tmp_path / "sample.py"
        sample.write_text(
            "import flowstone\nfrom flowstone.codec import x\n"
            "import importlib\nimportlib.import_module('flowstone.y')\n",
            encoding="utf-8",
        )
        assert {"flowstone", "flowstone.codec", "flowstone.y"} <= self._imported_modules(sample)

    def test_importing_supervisors_loads_no_flowstone_module(self) -> None:
        """STYLE.md: ``supervisors`` depends on pykka and structlog only."""
        code = (
            "import sys, supervisors, supervisors.testing\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'flowstone')\n"
            "print(bad)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert result.stdout.strip() == "[]"


def test_exit_reasons_seen_during_a_storm_are_all_crashes() -> None:
    """Issue 2: every exit during a storm is reported with its reason."""
    sup = Supervisor.start([CrashWorker.spec("w")], max_restarts=1000)
    reasons: list[Any] = []
    try:
        for _ in range(50):
            old = sup.whereis("w")
            monitor(old, lambda down: reasons.append(down.reason))
            CrashWorker.crash(old)
            wait_until_restarted(sup, "w", previous=old)
        wait_for(lambda: len(reasons) == 50, TIMEOUT)
        assert all(isinstance(r, Crashed) for r in reasons)
    finally:
        sup.stop()
