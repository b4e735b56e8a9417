"""Defining assets: the decorator, options, definition errors and introspection."""

from __future__ import annotations

import dataclasses

import pytest

import flowstone as fs


class TestDecorator:
    def test_bare_decorator_defines_an_asset_and_returns_the_function_unchanged(self) -> None:
        pipeline = fs.Pipeline("p")

        def numbers(ctx: fs.Context) -> list[int]:
            return [1, 2]

        assert pipeline.asset(numbers) is numbers
        assert fs.assets(pipeline) == ["numbers"]
        assert numbers(None) == [1, 2]  # type: ignore[arg-type]

    def test_configured_decorator_keeps_its_options(self) -> None:
        pipeline = fs.Pipeline("p")
        retry = fs.Retry(max_attempts=10, backoff="exponential", base_delay=1.0, max_delay=300.0, jitter=0.1)

        @pipeline.asset(description="Total", retry=retry, timeout=60.0)
        def total(ctx: fs.Context) -> int:
            return 0

        options = fs.asset_info(pipeline, "total").options
        assert (options.description, options.retry, options.timeout) == ("Total", retry, 60.0)

    def test_dependencies_come_from_the_parameter_names_after_ctx(self, sales: fs.Pipeline) -> None:
        assert fs.asset_info(sales, "numbers").depends_on == ()
        assert fs.asset_info(sales, "doubled").depends_on == ("numbers",)

    def test_depends_on_sets_dependencies_that_are_not_parameters(self) -> None:
        pipeline = fs.Pipeline("p")

        @pipeline.asset
        def raw(ctx: fs.Context) -> int:
            return 1

        @pipeline.asset(depends_on=["raw"])
        def report(ctx: fs.Context) -> str:
            return "done"

        assert fs.asset_info(pipeline, "report").depends_on == ("raw",)
        assert pipeline.order == ("raw", "report")

    def test_description_defaults_to_the_first_docstring_line(self) -> None:
        pipeline = fs.Pipeline("p")

        @pipeline.asset
        def cleaned(ctx: fs.Context) -> int:
            """Cleaned rows.

            More detail.
            """
            return 1

        assert fs.asset_info(pipeline, "cleaned").description == "Cleaned rows."


class TestOptions:
    def test_unknown_option_raises_type_error_naming_the_valid_ones(self) -> None:
        pipeline = fs.Pipeline("p")
        with pytest.raises(TypeError, match="retries") as caught:
            pipeline.asset(retries=3)
        message = str(caught.value)
        for field in dataclasses.fields(fs.AssetOptions):
            assert field.name in message

    def test_asset_options_is_a_frozen_keyword_only_dataclass(self) -> None:
        assert dataclasses.is_dataclass(fs.AssetOptions)
        options = fs.AssetOptions(description="x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            options.description = "y"  # type: ignore[misc]
        with pytest.raises(TypeError):
            fs.AssetOptions(None)  # type: ignore[misc]

    def test_options_of_the_wrong_type_are_rejected_when_defined(self) -> None:
        pipeline = fs.Pipeline("p")
        with pytest.raises(TypeError, match="retry"):
            pipeline.asset(retry=3)
        with pytest.raises(ValueError, match="timeout"):
            pipeline.asset(timeout=-1)


class TestDefinitionErrors:
    def test_every_definition_error_is_a_flowstone_error(self) -> None:
        assert issubclass(fs.DefinitionError, fs.FlowStoneError)
        assert issubclass(fs.CycleError, fs.DefinitionError)

    def test_an_asset_defined_twice_is_rejected(self) -> None:
        pipeline = fs.Pipeline("p")

        @pipeline.asset
        def numbers(ctx: fs.Context) -> int:
            return 1

        with pytest.raises(fs.DefinitionError, match="numbers"):

            @pipeline.asset
            def numbers(ctx: fs.Context) -> int:
                return 2

    def test_an_unknown_dependency_suggests_the_closest_name(self) -> None:
        pipeline = fs.Pipeline("p")

        @pipeline.asset
        def numbers(ctx: fs.Context) -> int:
            return 1

        @pipeline.asset
        def doubled(ctx: fs.Context, numbrs: int) -> int:
            return numbrs * 2

        with pytest.raises(fs.DefinitionError, match="did you mean 'numbers'"):
            pipeline.validate()

    def test_an_unknown_dependency_is_reported_when_the_pipeline_is_run(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("p")

        @pipeline.asset
        def doubled(ctx: fs.Context, numbers: int) -> int:
            return numbers * 2

        with pytest.raises(fs.DefinitionError, match="numbers"):
            node.run(pipeline, "doubled")

    def test_a_cycle_raises_cycle_error_naming_the_cycle_path(self) -> None:
        pipeline = fs.Pipeline("p")

        @pipeline.asset
        def a(ctx: fs.Context, c: int) -> int:
            return c

        @pipeline.asset
        def b(ctx: fs.Context, a: int) -> int:
            return a

        @pipeline.asset
        def c(ctx: fs.Context, b: int) -> int:
            return b

        with pytest.raises(fs.CycleError) as caught:
            pipeline.validate()
        cycle = caught.value.cycle
        assert cycle[0] == cycle[-1]
        assert set(cycle) == {"a", "b", "c"}
        assert len(cycle) == 4
        assert " -> ".join(cycle) in str(caught.value)

    def test_a_bad_partition_declaration_is_a_definition_error(self) -> None:
        pipeline = fs.Pipeline("p")
        with pytest.raises(fs.DefinitionError, match="partition"):

            @pipeline.asset(partitions=[1.5])
            def daily(ctx: fs.Context) -> int:
                return 1

    def test_a_parameter_that_is_not_a_dependency_is_rejected(self) -> None:
        pipeline = fs.Pipeline("p")
        with pytest.raises(fs.DefinitionError, match="extra"):

            @pipeline.asset(depends_on=[])
            def lonely(ctx: fs.Context, extra: int) -> int:
                return extra

    def test_adding_an_asset_after_validate_raises_definition_error(self, sales: fs.Pipeline) -> None:
        sales.validate()
        with pytest.raises(fs.DefinitionError, match="closed"):

            @sales.asset
            def late(ctx: fs.Context) -> int:
                return 1

        assert "late" not in fs.assets(sales)

    def test_adding_an_asset_after_a_run_raises_definition_error(
        self, node: fs.Node, sales: fs.Pipeline
    ) -> None:
        node.run(sales, "numbers")
        with pytest.raises(fs.DefinitionError):

            @sales.asset
            def late(ctx: fs.Context) -> int:
                return 1


class TestNameLimits:
    """Names are stored in columns of 200 characters: longer ones are refused when defined."""

    def test_a_pipeline_name_over_200_characters_is_a_definition_error_saying_how_long(self) -> None:
        with pytest.raises(fs.DefinitionError, match="201 characters") as caught:
            fs.Pipeline("p" * 201)
        assert "at most 200" in str(caught.value)

    def test_a_pipeline_name_of_200_characters_is_accepted_whatever_its_letters(self) -> None:
        assert fs.Pipeline("p" * 200).name == "p" * 200
        assert fs.Pipeline("é" * 200).name == "é" * 200  # characters, not bytes

    def test_an_asset_name_over_200_characters_is_a_definition_error_naming_the_pipeline(self) -> None:
        pipeline = fs.Pipeline("long_names")

        def asset(ctx: fs.Context) -> int:
            return 1

        asset.__name__ = "a" * 250
        with pytest.raises(fs.DefinitionError, match="250 characters") as caught:
            pipeline.asset(asset)
        assert "pipeline 'long_names'" in str(caught.value)
        assert "at most 200" in str(caught.value)
        assert fs.assets(pipeline) == []

    def test_an_asset_name_of_200_characters_is_accepted(self) -> None:
        pipeline = fs.Pipeline("long_names")

        def asset(ctx: fs.Context) -> int:
            return 1

        asset.__name__ = "a" * 200
        pipeline.asset(asset)
        assert fs.assets(pipeline) == ["a" * 200]


class TestIntrospection:
    def test_assets_lists_names_in_definition_order(self, sales: fs.Pipeline) -> None:
        assert fs.assets(sales) == ["numbers", "doubled", "total"]

    def test_asset_info_describes_one_asset(self, sales: fs.Pipeline) -> None:
        info = fs.asset_info(sales, "total")
        assert isinstance(info, fs.AssetInfo)
        assert (info.name, info.depends_on, info.description) == ("total", ("doubled",), "Total")
        assert isinstance(info.options, fs.AssetOptions)

    def test_asset_info_of_an_unknown_asset_suggests_the_closest_name(self, sales: fs.Pipeline) -> None:
        with pytest.raises(fs.AssetNotFoundError, match="did you mean 'doubled'"):
            fs.asset_info(sales, "dubled")

    @pytest.mark.parametrize(("format", "marker"), [("ascii", "numbers"), ("mermaid", "graph TD")])
    def test_graph_contains_every_asset_name(self, sales: fs.Pipeline, format: str, marker: str) -> None:
        drawn = fs.graph(sales, format=format)  # type: ignore[arg-type]
        assert marker in drawn
        for name in ("numbers", "doubled", "total"):
            assert name in drawn

    def test_mermaid_graph_draws_each_edge(self, sales: fs.Pipeline) -> None:
        drawn = fs.graph(sales, format="mermaid")
        assert "numbers --> doubled" in drawn
        assert "doubled --> total" in drawn

    def test_dot_graph_is_a_digraph_with_each_edge(self, sales: fs.Pipeline) -> None:
        drawn = fs.graph(sales, format="dot")
        assert "digraph" in drawn
        for name in ("numbers", "doubled", "total"):
            assert name in drawn
        assert "->" in drawn


class TestRunAsset:
    def test_run_asset_runs_one_asset_with_given_dependency_values(self, sales: fs.Pipeline) -> None:
        assert fs.testing.run_asset(sales, "doubled", deps={"numbers": [1, 2]}) == [2, 4]

    def test_run_asset_passes_the_partition_in_the_context(self) -> None:
        pipeline = fs.Pipeline("p")

        @pipeline.asset
        def which(ctx: fs.Context) -> object:
            return (ctx.partition, ctx.asset, ctx.pipeline, ctx.attempt)

        assert fs.testing.run_asset(pipeline, "which", partition="eu") == ("eu", "which", "p", 1)

    def test_run_asset_without_a_needed_dependency_says_which(self, sales: fs.Pipeline) -> None:
        with pytest.raises(fs.DefinitionError, match="numbers"):
            fs.testing.run_asset(sales, "doubled")
