"""``fs.testing.materialize``: one asset through the real engine, with given upstream values."""

from __future__ import annotations

import pytest

import flowstone as fs


def orders_pipeline(calls: list[str]) -> fs.Pipeline:
    pipeline = fs.Pipeline("orders")

    @pipeline.asset
    def raw(ctx: fs.Context) -> list[int]:
        calls.append("raw")
        raise AssertionError("raw is given by the test and must not run")

    @pipeline.asset
    def cleaned(ctx: fs.Context, raw: list[int]) -> list[int]:
        calls.append("cleaned")
        return [n for n in raw if n > 0]

    @pipeline.asset(retry=fs.Retry(max_attempts=3, base_delay=0.0))
    def revenue(ctx: fs.Context, cleaned: list[int]) -> int:
        calls.append(f"revenue:{ctx.attempt}")
        if ctx.attempt == 1:
            raise ConnectionError("the first attempt fails")
        return sum(cleaned) * ctx.resources["rate"]

    return pipeline


def test_the_asset_runs_through_the_engine_on_the_given_upstream_values() -> None:
    calls: list[str] = []
    pipeline = orders_pipeline(calls)
    result = fs.testing.materialize(pipeline, "revenue", upstream={"raw": [3, -1, 4]}, resources={"rate": 10})
    assert result.value == 70
    assert calls == ["cleaned", "revenue:1", "revenue:2"]  # raw never ran; revenue was retried
    assert result.records["revenue"].state == "completed"
    assert result.records["revenue"].attempts == 2
    assert result.records["raw"].state == "completed"
    assert result.run_id is not None
    assert result.run_id == result.records["cleaned"].run_id
    assert [(ref.asset, ref.depth) for ref in result.lineage] == [("cleaned", 1), ("raw", 2)]


def test_the_result_unpacks_as_the_value_and_the_records() -> None:
    value, records = fs.testing.materialize(orders_pipeline([]), "cleaned", upstream={"raw": [1, -2]})
    assert value == [1]
    assert records["cleaned"].state == "completed"


def test_given_values_stop_the_computation_at_the_asset_they_replace() -> None:
    calls: list[str] = []
    pipeline = orders_pipeline(calls)
    result = fs.testing.materialize(pipeline, "revenue", upstream={"cleaned": [5]}, resources={"rate": 2})
    assert result.value == 10
    assert "cleaned" not in calls


def test_the_asset_function_gives_a_typed_result_and_a_partition() -> None:
    pipeline = fs.Pipeline("regions")

    @pipeline.asset(partitions=["eu", "us"])
    def region(ctx: fs.Context) -> str:
        return ctx.partition_str.upper()

    result = fs.testing.materialize(pipeline, region, partition="eu")
    assert result.value == "EU"
    assert result.records["region"].partition == "eu"


def test_a_failing_asset_raises_materialization_error_as_node_run_does() -> None:
    pipeline = fs.Pipeline("broken")

    @pipeline.asset
    def broken(ctx: fs.Context, source: int) -> int:
        raise ValueError(f"bad source {source}")

    @pipeline.asset
    def source(ctx: fs.Context) -> int:
        return 1

    with pytest.raises(fs.MaterializationError) as caught:
        fs.testing.materialize(pipeline, "broken", upstream={"source": 7})
    assert isinstance(caught.value.__cause__, ValueError)
    assert "bad source 7" in str(caught.value.__cause__)


def test_a_value_the_codec_cannot_store_fails_as_in_production(sqlite_url: str) -> None:
    pipeline = fs.Pipeline("unencodable")

    @pipeline.asset
    def opaque(ctx: fs.Context) -> object:
        return object()

    with pytest.raises(fs.MaterializationError):
        fs.testing.materialize(pipeline, "opaque", database_url=sqlite_url)


def test_an_unknown_upstream_name_is_refused_naming_the_assets() -> None:
    pipeline = orders_pipeline([])
    with pytest.raises(fs.DefinitionError, match=r"no asset 'rwa' .*its assets are raw, cleaned, revenue"):
        fs.testing.materialize(pipeline, "revenue", upstream={"rwa": []})


def test_the_asset_under_test_cannot_be_given() -> None:
    pipeline = orders_pipeline([])
    with pytest.raises(fs.DefinitionError, match="the one under test"):
        fs.testing.materialize(pipeline, "revenue", upstream={"revenue": 1})


def test_the_original_pipeline_is_left_as_it_was() -> None:
    calls: list[str] = []
    pipeline = orders_pipeline(calls)
    fs.testing.materialize(pipeline, "cleaned", upstream={"raw": [1]})
    assert pipeline.get("raw").deps == ()
    with fs.start() as node, pytest.raises(fs.MaterializationError):
        node.run(pipeline, "cleaned")  # the real raw runs (and fails) here
    assert calls[-1] == "raw"


def routed_pipeline() -> fs.Pipeline:
    pipeline = fs.Pipeline("routed")

    @pipeline.asset
    def size(ctx: fs.Context) -> int:
        raise AssertionError("given by the test")

    @pipeline.router(branches=("big", "small"))
    def pick(ctx: fs.Context, size: int) -> str:
        return "big" if size > 3 else "small"

    @pipeline.asset(routed_from="pick")
    def big(ctx: fs.Context) -> str:
        return "big order"

    @pipeline.asset(routed_from="pick")
    def small(ctx: fs.Context) -> str:
        return "small order"

    return pipeline


def test_a_router_decides_on_the_given_upstream_values() -> None:
    pipeline = routed_pipeline()
    assert fs.testing.materialize(pipeline, "big", upstream={"size": 9}).value == "big order"
    skipped = fs.testing.materialize(pipeline, "small", upstream={"size": 9})
    assert skipped.value is fs.SKIPPED
    assert skipped.records["small"].state == "skipped"


def test_a_routers_value_can_be_given_as_the_branch_it_takes() -> None:
    pipeline = routed_pipeline()
    assert fs.testing.materialize(pipeline, "small", upstream={"pick": "small"}).value == "small order"
