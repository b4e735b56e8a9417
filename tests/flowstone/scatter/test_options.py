"""``fs.Scatter``, ``fs.Batch`` and ``fs.Rate`` are checked when the asset is defined."""

from __future__ import annotations

from typing import Any

import pytest

import flowstone as fs


def keys(ctx: fs.Context) -> list[str]:
    return ["a", "b"]


class TestScatter:
    def test_takes_exactly_one_of_keys_and_reader(self) -> None:
        with pytest.raises(fs.DefinitionError, match="exactly one of keys"):
            fs.Scatter()
        with pytest.raises(fs.DefinitionError, match="exactly one of keys"):
            fs.Scatter(keys=keys, reader=fs.readers.Iterable(list))

    @pytest.mark.parametrize("tolerate", [-0.1, 1.01, "5%", True])
    def test_tolerate_is_a_fraction(self, tolerate: Any) -> None:
        with pytest.raises(fs.DefinitionError, match="tolerate"):
            fs.Scatter(keys=keys, tolerate=tolerate)

    @pytest.mark.parametrize("tolerate", [0, 0.0, 0.05, 1.0])
    def test_tolerate_accepts_zero_to_one(self, tolerate: float) -> None:
        assert fs.Scatter(keys=keys, tolerate=tolerate).tolerate == tolerate

    @pytest.mark.parametrize("name", ["max_concurrent", "max_key_bytes"])
    @pytest.mark.parametrize("value", [0, -1, 1.5, True])
    def test_limits_are_positive_ints(self, name: str, value: Any) -> None:
        with pytest.raises(fs.DefinitionError, match=name):
            fs.Scatter(keys=keys, **{name: value})

    def test_select_needs_a_reader(self) -> None:
        with pytest.raises(fs.DefinitionError, match="select"):
            fs.Scatter(keys=keys, select=lambda item: item)

    def test_a_reader_must_read(self) -> None:
        with pytest.raises(fs.DefinitionError, match="read"):
            fs.Scatter(reader=[1, 2, 3])

    def test_batch_and_rate_are_their_option_types(self) -> None:
        with pytest.raises(fs.DefinitionError, match="batch"):
            fs.Scatter(keys=keys, batch=10)  # type: ignore[arg-type]
        with pytest.raises(fs.DefinitionError, match="rate"):
            fs.Scatter(keys=keys, rate=100)  # type: ignore[arg-type]

    def test_a_bad_scatter_fails_the_asset_definition(self) -> None:
        pipeline = fs.Pipeline("p")
        with pytest.raises(fs.DefinitionError, match=r"scatter must be a flowstone\.Scatter"):

            @pipeline.asset(scatter={"keys": keys})
            def sales(ctx: fs.Context) -> int:
                return 1

    def test_an_asset_keeps_its_scatter(self) -> None:
        pipeline = fs.Pipeline("p")
        scatter = fs.Scatter(keys=keys, max_concurrent=8, tolerate=0.05)

        @pipeline.asset(scatter=scatter)
        def sales(ctx: fs.Context) -> str:
            return str(ctx.scatter_key)

        assert fs.asset_info(pipeline, "sales").options.scatter is scatter


class TestBatch:
    def test_defaults_to_a_hundred_items(self) -> None:
        assert fs.Batch().max_items == 100

    @pytest.mark.parametrize(
        "bad", [{"max_items": 0}, {"max_items": -3}, {"max_bytes": 0}, {"max_items": 2.5}]
    )
    def test_sizes_are_positive(self, bad: dict[str, Any]) -> None:
        with pytest.raises(fs.DefinitionError):
            fs.Batch(**bad)

    def test_a_size_function_needs_max_bytes(self) -> None:
        with pytest.raises(fs.DefinitionError, match="max_bytes"):
            fs.Batch(size=len)

    def test_size_and_group_by_are_functions(self) -> None:
        with pytest.raises(fs.DefinitionError, match="size"):
            fs.Batch(max_bytes=10, size=5)  # type: ignore[arg-type]
        with pytest.raises(fs.DefinitionError, match="group_by"):
            fs.Batch(group_by="region")  # type: ignore[arg-type]

    def test_max_items_per_group_needs_group_by(self) -> None:
        with pytest.raises(fs.DefinitionError, match="group_by"):
            fs.Batch(max_items_per_group=3)

    def test_max_bytes_alone_sizes_items_by_their_encoding(self) -> None:
        assert fs.Batch(max_bytes=1000).size is None


class TestRate:
    def test_takes_a_count_and_a_window(self) -> None:
        rate = fs.Rate(100, per=1.0)
        assert (rate.n, rate.per, rate.interval) == (100, 1.0, 0.01)

    @pytest.mark.parametrize(("n", "per"), [(0, 1.0), (-1, 1.0), (10, 0), (10, -1.0), (1.5, 1.0)])
    def test_both_are_positive(self, n: Any, per: Any) -> None:
        with pytest.raises(fs.DefinitionError):
            fs.Rate(n, per=per)


def test_the_node_bounds_keys_at_4096_bytes_unless_told() -> None:
    assert fs.NodeConfig().max_scatter_key_bytes == 4096
    with pytest.raises(ValueError, match="max_scatter_key_bytes"):
        fs.NodeConfig(max_scatter_key_bytes=0)
