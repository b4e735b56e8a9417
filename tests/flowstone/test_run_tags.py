"""Run tags (issue 19, run metadata): ``node.run(..., tags={...})`` stores string tags with
the run, shows them to the asset as ``ctx.tags`` and in the run's audit entries, and
refuses bad tags with ``fs.TagError`` before anything runs."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

import flowstone as fs


def tag_pipeline(seen: dict[str, Mapping[str, str]]) -> fs.Pipeline:
    pipeline = fs.Pipeline("tagged")

    @pipeline.asset
    def raw(ctx: fs.Context) -> int:
        seen["raw"] = ctx.tags
        return 1

    @pipeline.asset
    def report(ctx: fs.Context, raw: int) -> str:
        seen["report"] = ctx.tags
        return ctx.run_id

    return pipeline


TAGS = {"team": "finance", "trace_id": "abc-123"}


class TestTagsReachTheAsset:
    def test_every_asset_of_the_run_sees_its_tags(self, any_node: fs.Node) -> None:
        seen: dict[str, Mapping[str, str]] = {}
        any_node.run(tag_pipeline(seen), "report", tags=TAGS)
        assert dict(seen["raw"]) == TAGS
        assert dict(seen["report"]) == TAGS

    def test_ctx_tags_are_empty_without_tags(self, any_node: fs.Node) -> None:
        seen: dict[str, Mapping[str, str]] = {}
        any_node.run(tag_pipeline(seen), "report")
        assert dict(seen["report"]) == {}

    def test_ctx_tags_are_read_only(self, node: fs.Node) -> None:
        seen: dict[str, Mapping[str, str]] = {}
        node.run(tag_pipeline(seen), "report", tags={"team": "finance"})
        with pytest.raises(TypeError):
            seen["report"]["team"] = "ops"  # type: ignore[index]

    def test_changing_the_callers_dict_after_the_call_changes_nothing(self, node: fs.Node) -> None:
        seen: dict[str, Mapping[str, str]] = {}
        tags = {"team": "finance"}
        run_id = node.run(tag_pipeline(seen), "report", tags=tags)
        tags["team"] = "ops"
        assert dict(node.run_tags(run_id)) == {"team": "finance"}


class TestTagsAreStoredWithTheRun:
    def test_the_run_keeps_its_tags(self, any_node: fs.Node) -> None:
        run_id = any_node.run(tag_pipeline({}), "report", tags=TAGS)
        assert dict(any_node.run_tags(run_id)) == TAGS

    def test_an_untagged_run_reads_as_empty(self, any_node: fs.Node) -> None:
        run_id = any_node.run(tag_pipeline({}), "report")
        assert dict(any_node.run_tags(run_id)) == {}
        assert dict(any_node.run_tags("no-such-run")) == {}

    def test_the_runs_audit_entries_carry_its_tags(self, any_node: fs.Node) -> None:
        run_id = any_node.run(tag_pipeline({}), "report", tags=TAGS)
        started = [
            e for e in any_node.audit() if e.event_type == "run.started" and e.details["run_id"] == run_id
        ]
        assert len(started) == 1
        assert started[0].details["tags"] == TAGS

    def test_the_end_of_a_completed_run_carries_its_tags(self, any_node: fs.Node) -> None:
        run_id = any_node.run(tag_pipeline({}), "report", tags=TAGS)
        ends = [
            e for e in any_node.audit() if e.event_type == "run.finished" and e.details["run_id"] == run_id
        ]
        assert len(ends) == 1
        assert ends[0].details["tags"] == TAGS

    def test_the_end_of_a_failed_run_carries_its_tags(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("failing")

        @pipeline.asset
        def raw(ctx: fs.Context) -> int:
            return 1

        @pipeline.asset
        def broken(ctx: fs.Context, raw: int) -> int:
            raise ValueError("no")

        with pytest.raises(fs.MaterializationError):
            any_node.run(pipeline, "broken", tags=TAGS)
        ends = [e for e in any_node.audit() if e.event_type == "run.failed"]
        assert len(ends) == 1
        assert ends[0].details["tags"] == TAGS

    def test_the_end_of_an_untagged_run_reads_as_before(self, any_node: fs.Node) -> None:
        run_id = any_node.run(tag_pipeline({}), "report")
        ends = [
            e for e in any_node.audit() if e.event_type == "run.finished" and e.details["run_id"] == run_id
        ]
        assert "tags" not in ends[0].details

    def test_every_end_of_a_backfill_carries_the_tags(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("tagged_days")

        @pipeline.asset(partitions=fs.partitions.Static(["a", "b", "c"]))
        def day(ctx: fs.Context) -> str:
            if ctx.partition == "b":
                raise ValueError("no b")
            return "ok"

        any_node.backfill(pipeline, "day", tags={"team": "ops"})
        ends = [e for e in any_node.audit() if e.event_type in ("run.finished", "run.failed")]
        assert sorted(e.event_type for e in ends) == ["run.failed", "run.finished", "run.finished"]
        assert all(e.details["tags"] == {"team": "ops"} for e in ends)

    def test_a_one_asset_run_recorded_after_it_ends_keeps_its_tags(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("single")

        @pipeline.asset
        def only(ctx: fs.Context) -> str:
            return ctx.run_id

        run_id = any_node.run(pipeline, "only", tags={"team": "ops"})
        assert dict(any_node.run_tags(run_id)) == {"team": "ops"}


class TestBadTagsAreRefused:
    @pytest.mark.parametrize(
        ("tags", "named"),
        [
            ({"Team": "x"}, "'Team'"),
            ({"": "x"}, "''"),
            ({"a" * 65: "x"}, "a" * 65),
            ({"team name": "x"}, "'team name'"),
            ({"team": 3}, "'team'"),
            ({"team": "x" * 257}, "'team'"),
        ],
    )
    def test_a_bad_key_or_value_is_a_tag_error_naming_it(
        self, node: fs.Node, tags: dict[str, object], named: str
    ) -> None:
        seen: dict[str, Mapping[str, str]] = {}
        with pytest.raises(fs.TagError, match=named) as caught:
            node.run(tag_pipeline(seen), "report", tags=tags)  # type: ignore[arg-type]
        assert isinstance(caught.value, fs.OptionError)
        assert seen == {}  # refused before anything ran

    def test_more_than_32_tags_is_a_tag_error(self, node: fs.Node) -> None:
        tags = {f"k{i}": "v" for i in range(33)}
        with pytest.raises(fs.TagError, match="at most 32"):
            node.run(tag_pipeline({}), "report", tags=tags)

    def test_the_limits_themselves_are_accepted(self, any_node: fs.Node) -> None:
        tags = {f"k{i}": "v" * 256 for i in range(30)} | {"a" * 64: "", "x.y_z-0": "v"}
        assert len(tags) == 32
        run_id = any_node.run(tag_pipeline({}), "report", tags=tags)
        assert dict(any_node.run_tags(run_id)) == tags


class TestBackfill:
    def test_each_partitions_run_has_the_tags(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("tagged_backfill")
        seen: dict[object, tuple[str, Mapping[str, str]]] = {}

        @pipeline.asset
        def daily(ctx: fs.Context) -> int:
            seen[ctx.partition] = (ctx.run_id, ctx.tags)
            return 1

        report = any_node.backfill(pipeline, "daily", ["a", "b", "c"], parallel=2, tags=TAGS)
        assert report.succeeded == 3
        assert sorted(seen) == ["a", "b", "c"]  # type: ignore[type-var]
        assert all(dict(tags) == TAGS for _, tags in seen.values())
        assert all(dict(any_node.run_tags(run_id)) == TAGS for run_id, _ in seen.values())

    def test_bad_tags_are_refused_before_any_partition_runs(self, node: fs.Node) -> None:
        pipeline = fs.Pipeline("tagged_backfill")
        calls: list[object] = []

        @pipeline.asset
        def daily(ctx: fs.Context) -> int:
            calls.append(ctx.partition)
            return 1

        with pytest.raises(fs.TagError):
            node.backfill(pipeline, "daily", ["a"], tags={"k": 1})  # type: ignore[dict-item]
        assert calls == []


class TestEvents:
    def test_the_runs_materialization_events_carry_its_tags(self, any_node: fs.Node) -> None:
        events: list[object] = []
        with any_node.events.subscribe(events.append):
            any_node.run(tag_pipeline({}), "report", tags=TAGS)
        started = [e for e in events if isinstance(e, fs.events.MaterializationStarted)]
        finished = [e for e in events if isinstance(e, fs.events.MaterializationFinished)]
        assert sorted(e.asset for e in started) == sorted(e.asset for e in finished) == ["raw", "report"]
        assert all(dict(e.tags) == TAGS for e in [*started, *finished])

    def test_a_failed_materialization_event_carries_the_tags(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("tagged_failure")

        @pipeline.asset
        def broken(ctx: fs.Context) -> int:
            raise RuntimeError("no")

        events: list[object] = []
        with any_node.events.subscribe(events.append), pytest.raises(fs.MaterializationError):
            any_node.run(pipeline, "broken", tags=TAGS)
        failed = [e for e in events if isinstance(e, fs.events.MaterializationFailed)]
        assert [dict(e.tags) for e in failed] == [TAGS]

    def test_a_one_asset_run_recorded_after_it_ends_sends_its_tags(self, any_node: fs.Node) -> None:
        pipeline = fs.Pipeline("single_event")

        @pipeline.asset
        def only(ctx: fs.Context) -> int:
            return 1

        events: list[object] = []
        with any_node.events.subscribe(events.append):
            any_node.run(pipeline, "only", tags={"team": "ops"})
        finished = [e for e in events if isinstance(e, fs.events.MaterializationFinished)]
        assert [dict(e.tags) for e in finished] == [{"team": "ops"}]
