"""``requires=`` filters ``ctx.resources``; optional resources that fail become
unavailable to the assets requiring them only; ``node.health()`` checks each resource."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone as fs


class Broken(fs.Resource):
    optional = True

    def setup(self) -> Any:
        raise ConnectionError("crm is down")


class Sick(fs.Resource):
    def __init__(self, healthy: bool) -> None:
        self.healthy = healthy

    def setup(self) -> Any:
        return "conn"

    def health(self, obj: Any) -> bool | None:
        if obj != "conn":
            raise AssertionError("health got something other than the setup result")
        return self.healthy


def test_requires_gives_exactly_the_declared_resources() -> None:
    p = fs.Pipeline("req_filter")

    @p.asset(requires=("wh",))
    def narrow(ctx: Any) -> Any:
        return sorted(ctx.resources)

    @p.asset
    def wide(ctx: Any) -> Any:
        return sorted(ctx.resources)

    with fs.start(resources={"wh": {"dsn": "x"}, "api": object()}) as node:
        assert node.run(p, "narrow") == ["wh"]
        assert node.run(p, "wide") == ["api", "wh"]


def test_an_unknown_required_resource_is_a_definition_error_naming_it() -> None:
    p = fs.Pipeline("req_unknown")

    @p.asset(requires=("warehouse",))
    def orders(ctx: Any) -> int:
        return 1

    with fs.start(resources={"wh": {}}) as node, pytest.raises(fs.DefinitionError) as caught:
        node.run(p, "orders")
    message = str(caught.value)
    assert "'orders'" in message
    assert "'warehouse'" in message
    assert "wh" in message


def test_requires_must_be_a_list_of_names() -> None:
    p = fs.Pipeline("req_bad")
    with pytest.raises(fs.OptionError):

        @p.asset(requires="wh")  # type: ignore[arg-type]
        def orders(ctx: Any) -> int:
            return 1


def test_an_optional_failing_resource_fails_only_the_assets_that_require_it() -> None:
    p = fs.Pipeline("req_optional")

    @p.asset(requires=("crm",))
    def customers(ctx: Any) -> int:
        return 1

    @p.asset
    def other(ctx: Any) -> int:
        return 2

    with fs.start(resources={"crm": Broken()}) as node:
        assert node.run(p, "other") == 2
        with pytest.raises(fs.MaterializationError) as caught:
            node.run(p, "customers")
        assert "crm is down" in str(caught.value)
        report = node.health()
        assert report.checks["resource:crm"].ok is False
        assert "crm is down" in report.checks["resource:crm"].detail


def test_health_has_one_check_per_resource() -> None:
    with fs.start(resources={"good": Sick(True), "bad": Sick(False), "plain": {}}) as node:
        checks = node.health().checks
        assert checks["resource:good"].ok is True
        assert checks["resource:bad"].ok is False
        assert "resource:plain" not in checks  # no health method: nothing to check
        assert checks["resources"].ok is False
