"""Resources with a lifecycle: set up in declaration order when the node starts, torn
down in reverse when it stops or its resources actor restarts (docs/resources.md)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

import flowstone as fs
from supervisors.testing import wait_for


class Recorded(fs.Resource):
    """Writes what happens to it into a shared journal."""

    def __init__(self, name: str, journal: list[str], value: Any = None) -> None:
        self.name = name
        self.journal = journal
        self.value = value

    def setup(self) -> Any:
        self.journal.append(f"setup {self.name}")
        return {"name": self.name, "value": self.value}

    def teardown(self, obj: Any) -> None:
        self.journal.append(f"teardown {obj['name']}")


class Failing(fs.Resource):
    def setup(self) -> Any:
        raise ConnectionError("warehouse unreachable")


def test_setup_runs_in_declaration_order_and_teardown_in_reverse() -> None:
    journal: list[str] = []
    resources = {"a": Recorded("a", journal), "plain": {"region": "eu"}, "b": Recorded("b", journal)}
    with fs.start(resources=resources):
        assert journal == ["setup a", "setup b"]
    assert journal == ["setup a", "setup b", "teardown b", "teardown a"]


def test_assets_receive_what_setup_returned_and_plain_objects_as_they_are() -> None:
    p = fs.Pipeline("res_objects")

    @p.asset
    def seen(ctx: Any) -> Any:
        return (ctx.resources["wh"]["name"], ctx.resources["config"])

    journal: list[str] = []
    with fs.start(resources={"wh": Recorded("wh", journal), "config": {"region": "eu"}}) as node:
        assert node.run(p, "seen") == ("wh", {"region": "eu"})


def test_a_restart_of_the_resources_actor_tears_down_then_sets_up_again() -> None:
    journal: list[str] = []
    with fs.start(resources={"a": Recorded("a", journal), "b": Recorded("b", journal)}) as node:
        first = node._directory.lookup("resources")
        first.stop()
        wait_for(
            lambda: (r := node._directory.lookup("resources")) is not None and r is not first and r.is_alive()
        )
        wait_for(lambda: journal.count("setup b") == 2)
        assert journal == ["setup a", "setup b", "teardown b", "teardown a", "setup a", "setup b"]


def test_env_is_resolved_at_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    journal: list[str] = []
    resource = Recorded("wh", journal, value=fs.env("FS_TEST_WH_DSN"))
    monkeypatch.setenv("FS_TEST_WH_DSN", "postgres://later")  # set after the definition
    p = fs.Pipeline("res_env")

    @p.asset(requires=("wh",))
    def dsn(ctx: Any) -> Any:
        return ctx.resources["wh"]["value"]

    with fs.start(resources={"wh": resource}) as node:
        assert node.run(p, "dsn") == "postgres://later"


def test_env_default_is_used_when_the_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FS_TEST_UNSET", raising=False)
    journal: list[str] = []
    resource = Recorded("wh", journal, value=fs.env("FS_TEST_UNSET", default="sqlite://"))
    with fs.start(resources={"wh": resource}):
        assert resource.value == "sqlite://"


def test_a_missing_variable_fails_the_start_naming_resource_and_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FS_TEST_UNSET", raising=False)
    journal: list[str] = []
    before = Recorded("before", journal)
    with pytest.raises(fs.ResourceError) as caught:
        fs.start(resources={"before": before, "wh": Recorded("wh", journal, value=fs.env("FS_TEST_UNSET"))})
    assert caught.value.resource == "wh"
    assert "'wh'" in str(caught.value)
    assert "FS_TEST_UNSET" in str(caught.value)
    assert journal == ["setup before", "teardown before"]  # what was set up is released


def test_a_failing_setup_fails_the_start_with_name_and_cause() -> None:
    with pytest.raises(fs.ResourceError) as caught:
        fs.start(resources={"wh": Failing()})
    assert caught.value.resource == "wh"
    assert "'wh'" in str(caught.value)
    assert "warehouse unreachable" in str(caught.value)
    assert isinstance(caught.value.__cause__, ConnectionError)


def test_run_asset_sets_up_and_tears_down_resources_and_applies_requires() -> None:
    p = fs.Pipeline("res_run_asset")

    @p.asset(requires=("wh",))
    def seen(ctx: Any) -> Any:
        return (sorted(ctx.resources), ctx.resources["wh"]["name"])

    journal: list[str] = []
    resources = {"wh": Recorded("wh", journal), "other": 1}
    assert fs.testing.run_asset(p, "seen", resources=resources) == (["wh"], "wh")
    assert journal == ["setup wh", "teardown wh"]


class BadTeardown(Recorded):
    def teardown(self, obj: Any) -> None:
        self.journal.append(f"teardown {obj['name']}")
        raise RuntimeError("close failed")


def test_a_failing_teardown_does_not_stop_the_others_from_being_torn_down() -> None:
    journal: list[str] = []
    with fs.start(resources={"a": Recorded("a", journal), "b": BadTeardown("b", journal)}):
        pass
    assert journal == ["setup a", "setup b", "teardown b", "teardown a"]


class FlakyOnRestart(fs.Resource):
    """Sets up at the node's start, then fails ``failures`` setups before it succeeds again."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[float] = []

    def setup(self) -> Any:
        self.attempts.append(time.monotonic())
        if 1 < len(self.attempts) <= 1 + self.failures:
            raise ConnectionError("warehouse unreachable")
        return "connected"


def test_a_setup_failing_on_a_restart_is_retried_after_growing_delays_and_the_node_stays_up() -> None:
    p = fs.Pipeline("res_flaky_restart")

    @p.asset(requires=("wh",))
    def conn(ctx: Any) -> Any:
        return ctx.resources["wh"]

    flaky = FlakyOnRestart(failures=3)
    with fs.start(resources={"wh": flaky}) as node:
        first = node._directory.lookup("resources")
        first.stop()
        wait_for(lambda: len(flaky.attempts) == 5, timeout=15.0)
        wait_for(
            lambda: (r := node._directory.lookup("resources")) is not None and r is not first and r.is_alive()
        )
        gaps = [later - earlier for earlier, later in itertools.pairwise(flaky.attempts[1:])]
        # Without a backoff the failed setups follow each other within milliseconds.
        assert all(gap >= 0.05 for gap in gaps), gaps
        assert gaps[-1] > gaps[0], gaps  # the delays grow
        assert node.run(p, "conn") == "connected"
