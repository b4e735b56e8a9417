"""``node.health()`` bounds each resource's check by ``health_timeout``: a hanging check
is reported as its own failed ``resource:<name>`` check, the others are still reported,
and the resources actor (which keeps ``ctx.limit`` grants) is not blocked by it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import flowstone as fs


class Hanging(fs.Resource):
    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.entered = threading.Event()

    def health(self, obj: Any) -> None:
        self.entered.set()
        self.release.wait(30.0)


class Fine(fs.Resource):
    def health(self, obj: Any) -> bool:
        return True


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # lets the hanging check's thread end before the leak check


def test_a_hanging_check_fails_only_its_own_resource(release: threading.Event) -> None:
    resources = {"slow": Hanging(release), "wh": Fine(), "config": {"region": "eu"}}
    with fs.start(resources=resources, health_timeout=0.3) as node:
        started = time.monotonic()
        health = node.health()
        elapsed = time.monotonic() - started
        release.set()
    assert elapsed < 3.0  # bounded by health_timeout, not by the check
    assert health.status == "degraded"
    assert not health.checks["resource:slow"].ok
    assert "did not answer within 0.3 s" in health.checks["resource:slow"].detail
    assert health.checks["resource:wh"].ok  # not hidden by the hanging one
    assert not health.checks["resources"].ok
    assert "slow" in health.checks["resources"].detail


def test_a_hanging_check_is_not_started_again_by_the_next_health_call(release: threading.Event) -> None:
    with fs.start(resources={"slow": Hanging(release)}, health_timeout=0.2) as node:
        for _ in range(3):
            assert not node.health().checks["resource:slow"].ok
        probes = [t for t in threading.enumerate() if t.name == "flowstone-health:slow"]
        release.set()
    assert len(probes) == 1  # one thread for the hung check, however often it is asked


def test_a_hanging_check_does_not_block_ctx_limit(release: threading.Event) -> None:
    hanging = Hanging(release)
    p = fs.Pipeline("limited")

    @p.asset
    def call(ctx: fs.Context) -> int:
        with ctx.limit(fs.Rate(5, per=1.0, key="api")):
            return 1

    with fs.start(resources={"slow": hanging}, health_timeout=0.3) as node:
        node.health()
        assert hanging.entered.is_set()  # the check is still hanging now
        started = time.monotonic()
        assert node.run(p, "call") == 1
        assert time.monotonic() - started < 3.0
        release.set()


class PlainWithHealth:
    def __init__(self) -> None:
        self.checked = 0

    def health(self) -> bool:
        self.checked += 1
        return True


def test_every_resource_has_its_check_plain_objects_included() -> None:
    plain = PlainWithHealth()
    with fs.start(resources={"wh": Fine(), "config": {"region": "eu"}, "client": plain}) as node:
        health = node.health()
    names = sorted(name for name in health.checks if name.startswith("resource:"))
    assert names == ["resource:client", "resource:config", "resource:wh"]
    assert all(health.checks[name].ok for name in names)
    assert plain.checked == 1
    assert health.status == "ok"
