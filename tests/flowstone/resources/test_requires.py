"""``requires=``: what an asset declares it uses is exactly what ``ctx.resources``
holds; optional resources that failed to set up fail only the assets requiring them."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone as fs


class Down(fs.Resource):
    optional = True

    def setup(self) -> Any:
        raise ConnectionError("cache unreachable")


class Counted(fs.Resource):
    def __init__(self) -> None:
        self.checked = 0
        self.healthy = True

    def health(self, obj: Any) -> bool:
        self.checked += 1
        return self.healthy


def test_requires_filters_ctx_resources_to_exactly_those_named() -> None:
    p = fs.Pipeline("req_filter")

    @p.asset(requires=("wh",))
    def narrow(ctx: Any) -> Any:
        return sorted(ctx.resources)

    @p.asset
    def wide(ctx: Any) -> Any:
        return sorted(ctx.resources)

    with fs.start(resources={"wh": 1, "api": 2, "config": 3}) as node:
        assert node.run(p, "narrow") == ["wh"]
        assert node.run(p, "wide") == ["api", "config", "wh"]  # no requires: all of them


def test_an_unknown_resource_is_a_definition_error_naming_asset_resource_and_known() -> None:
    p = fs.Pipeline("req_unknown")

    @p.asset(requires=("warehouse",))
    def orders(ctx: Any) -> int:
        return 1

    with fs.start(resources={"api": 1, "config": 2}) as node, pytest.raises(fs.DefinitionError) as caught:
        node.run(p, "orders")
    message = str(caught.value)
    assert "'orders'" in message
    assert "'warehouse'" in message
    assert "api, config" in message


def test_requires_must_be_a_list_of_names() -> None:
    p = fs.Pipeline("req_bad")
    with pytest.raises(fs.OptionError, match="requires"):
        p.asset(requires="wh")  # type: ignore[arg-type]


def test_an_optional_resource_that_fails_makes_requiring_assets_fail_and_others_run() -> None:
    p = fs.Pipeline("req_optional")

    @p.asset(requires=("cache",))
    def cached(ctx: Any) -> int:
        return 1

    @p.asset
    def other(ctx: Any) -> int:
        return 2

    with fs.start(resources={"cache": Down()}) as node:
        assert node.run(p, "other") == 2
        with pytest.raises(fs.MaterializationError) as caught:
            node.run(p, "cached")
        cause = caught.value.__cause__
        assert isinstance(cause, fs.ResourceUnavailableError)
        assert cause.resource == "cache"
        assert "cache unreachable" in str(cause)
        assert caught.value.attempts == 1  # not retried: the resource will not come back by itself
        health = node.health()
    assert health.status == "degraded"
    assert not health.checks["resource:cache"].ok
    assert "cache unreachable" in health.checks["resource:cache"].detail


def test_optional_can_be_set_on_an_instance() -> None:
    resource = Down()
    type(resource).optional = False
    try:
        with pytest.raises(fs.ResourceError):
            fs.start(resources={"cache": resource})
        resource.optional = True
        with fs.start(resources={"cache": resource}) as node:
            assert not node.health().checks["resource:cache"].ok
    finally:
        Down.optional = True


def test_health_has_one_check_per_resource() -> None:
    good, bad = Counted(), Counted()
    bad.healthy = False
    with fs.start(resources={"good": good, "bad": bad}) as node:
        health = node.health()
    assert health.checks["resource:good"].ok
    assert not health.checks["resource:bad"].ok
    assert "returned False" in health.checks["resource:bad"].detail
    assert (good.checked, bad.checked) == (1, 1)
    assert health.status == "degraded"


def test_a_scatter_asset_s_keys_see_only_what_it_requires() -> None:
    p = fs.Pipeline("req_scatter")

    @p.asset(
        requires=("wh",),
        scatter=fs.Scatter(
            keys=lambda ctx: ["a", "b"], gather=lambda ctx, results: sorted(v for _, v in results)
        ),
    )
    def per_key(ctx: Any) -> Any:
        return f"{ctx.scatter_key}:{','.join(sorted(ctx.resources))}"

    with fs.start(resources={"wh": 1, "api": 2}) as node:
        assert node.run(p, "per_key") == ["a:wh", "b:wh"]
