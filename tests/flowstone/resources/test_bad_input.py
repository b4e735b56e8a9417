"""Bad input to resources, caught where it is written: ``fs.env`` names and a resource
class passed instead of an instance (found by trying the API as a new user, issue 20)."""

from __future__ import annotations

import dataclasses

import pytest

import flowstone as fs
from supervisors.testing import wait_for


@pytest.mark.parametrize("name", ["", 3, None, "A=B"])
def test_env_rejects_what_cannot_be_a_variable_name(name: object) -> None:
    with pytest.raises(fs.OptionError, match=r"fs\.env: name"):
        fs.env(name)  # type: ignore[arg-type]


class Warehouse(fs.Resource):
    pass


def test_a_resource_class_instead_of_an_instance_fails_the_start_naming_it() -> None:
    with pytest.raises(
        fs.OptionError, match=r"resources\['wh'\] is the class Warehouse.*Warehouse\(\.\.\.\)"
    ):
        fs.start(resources={"wh": Warehouse})


@pytest.mark.parametrize("rate", [10, (10, 1.0), None, fs.Slots("api", 2)])
def test_ctx_limit_takes_only_a_rate_on_a_node_and_outside_one(rate: object) -> None:
    p = fs.Pipeline("limited_bad")

    @p.asset
    def call(ctx: fs.Context) -> int:
        with ctx.limit(rate):  # type: ignore[arg-type]
            return 1

    with fs.start() as node, pytest.raises(fs.MaterializationError) as failed:
        node.run(p, "call")
    assert isinstance(failed.value.__cause__, fs.OptionError)
    assert "ctx.limit takes an fs.Rate" in str(failed.value.__cause__)
    with pytest.raises(fs.OptionError, match=r"ctx\.limit takes an fs\.Rate"):
        fs.testing.run_asset(p, "call")


@dataclasses.dataclass(frozen=True)
class FrozenWarehouse(fs.Resource):
    dsn: str

    def setup(self) -> str:
        return self.dsn


class SlottedWarehouse(fs.Resource):
    __slots__ = ("dsn",)

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def setup(self) -> str:
        return self.dsn


@pytest.mark.parametrize("kind", [FrozenWarehouse, SlottedWarehouse])
def test_env_is_resolved_in_frozen_dataclasses_and_slots(
    kind: type[fs.Resource], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T20_WH_DSN", "warehouse://eu")
    p = fs.Pipeline("env_kinds")

    @p.asset(requires=("wh",))
    def dsn(ctx: fs.Context) -> str:
        return str(ctx.resources["wh"])

    with fs.start(resources={"wh": kind(fs.env("T20_WH_DSN"))}) as node:  # type: ignore[call-arg]
        assert node.run(p, "dsn") == "warehouse://eu"


def test_env_given_as_a_plain_resource_or_in_a_plain_dict_is_read_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("T20_TOKEN", "secret")
    p = fs.Pipeline("plain_env")

    @p.asset
    def seen(ctx: fs.Context) -> tuple[str, dict[str, str]]:
        return ctx.resources["token"], ctx.resources["config"]

    config = {"region": fs.env("T20_REGION", default="eu"), "tier": "gold"}
    with fs.start(resources={"token": fs.env("T20_TOKEN"), "config": config}) as node:
        assert node.run(p, "seen") == ("secret", {"region": "eu", "tier": "gold"})


def test_a_missing_variable_of_a_plain_resource_fails_the_start_and_tears_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("T20_MISSING", raising=False)
    journal: list[str] = []

    class Recorded(fs.Resource):
        def teardown(self, obj: object) -> None:
            journal.append("teardown")

    with pytest.raises(fs.ResourceError, match="T20_MISSING") as failed:
        fs.start(resources={"first": Recorded(), "config": {"key": fs.env("T20_MISSING")}})
    assert failed.value.resource == "config"
    assert journal == ["teardown"]


class Dsn(fs.Resource):
    def __init__(self, dsn: object) -> None:
        self.dsn = dsn

    def setup(self) -> object:
        return self.dsn


def test_each_start_reads_the_variable_again(monkeypatch: pytest.MonkeyPatch) -> None:
    wh = Dsn(fs.env("T20_DSN"))
    p = fs.Pipeline("env_again")

    @p.asset(requires=("wh",))
    def dsn(ctx: fs.Context) -> object:
        return ctx.resources["wh"]

    monkeypatch.setenv("T20_DSN", "first")
    with fs.start(resources={"wh": wh}) as node:
        assert node.run(p, "dsn") == "first"
        assert wh.dsn == "first"  # resolved on the instance while the node runs
    monkeypatch.setenv("T20_DSN", "second")
    with fs.start(resources={"wh": wh}) as node:
        assert node.run(p, "dsn", force=True) == "second"  # not the value of the first start
    monkeypatch.delenv("T20_DSN")
    with pytest.raises(fs.ResourceError, match="T20_DSN"):
        fs.start(resources={"wh": wh})


def test_a_restart_of_the_resources_actor_reads_the_variable_again(monkeypatch: pytest.MonkeyPatch) -> None:
    wh = Dsn(fs.env("T20_DSN"))
    monkeypatch.setenv("T20_DSN", "before")
    with fs.start(resources={"wh": wh}) as node:
        first = node._directory.lookup("resources")
        assert node._services.resources["wh"] == "before"
        monkeypatch.setenv("T20_DSN", "after")
        first.stop()
        wait_for(
            lambda: (
                (r := node._directory.lookup("resources")) is not None
                and r is not first
                and node._services.resources.get("wh") == "after"
            )
        )


def test_run_asset_without_a_required_resource_is_a_definition_error() -> None:
    p = fs.Pipeline("run_asset_requires")
    journal: list[str] = []

    class Recorded(fs.Resource):
        def setup(self) -> str:
            journal.append("setup")
            return "x"

    @p.asset(requires=("wh",))
    def orders(ctx: fs.Context) -> int:
        return 1

    with pytest.raises(
        fs.DefinitionError, match=r"'orders' requires the resource 'wh'.*its resources: cache"
    ):
        fs.testing.run_asset(p, "orders", resources={"cache": Recorded()})
    assert journal == []  # nothing was set up
