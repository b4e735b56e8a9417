"""The audit log: run start/finish/fail and invalidations, newest first, on every store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import flowstone as fs

DAY = "2025-01-01"
KEY = fs.partitions.serialize(DAY)


@pytest.fixture
def node(store_url: str | None) -> Iterator[fs.Node]:
    with fs.start(database_url=store_url, max_concurrency=2) as started:
        yield started


def audited_pipeline() -> fs.Pipeline:
    pipeline = fs.Pipeline("audited")

    @pipeline.asset
    def good(ctx: fs.Context) -> int:
        return 1

    @pipeline.asset
    def bad(ctx: fs.Context) -> int:
        raise RuntimeError("disk full")

    return pipeline


class TestAuditLog:
    def test_a_fresh_node_has_an_empty_audit_log(self, node: fs.Node) -> None:
        assert node.audit() == []

    def test_runs_failures_and_invalidations_are_listed_newest_first(self, node: fs.Node) -> None:
        pipeline = audited_pipeline()
        node.run(pipeline, "good", partition=DAY)
        good_run = node.status(pipeline, "good", DAY).run_id
        with pytest.raises(fs.MaterializationError):
            node.run(pipeline, "bad", partition=DAY)
        bad_run = node.status(pipeline, "bad", DAY).run_id
        node.invalidate(pipeline, "good", DAY)

        entries = node.audit(limit=10)
        assert all(isinstance(e, fs.AuditEntry) for e in entries)
        assert [(e.event_type, e.action, e.resource) for e in entries] == [
            ("asset.invalidated", "invalidate", f"audited/good/{KEY}"),
            ("run.failed", "fail", f"audited/bad/{KEY}"),
            ("run.started", "start", f"audited/bad/{KEY}"),
            ("run.finished", "finish", f"audited/good/{KEY}"),
            ("run.started", "start", f"audited/good/{KEY}"),
        ]
        assert [e.details.get("run_id") for e in entries[1:]] == [bad_run, bad_run, good_run, good_run]
        assert "disk full" in entries[1].details["error"]
        assert entries[0].details["cascade"] is False
        assert all(e.actor == node.id for e in entries)
        assert all(e.at.tzinfo is not None for e in entries)
        times = [e.at for e in entries]
        assert times == sorted(times, reverse=True)

    def test_limit_returns_only_the_newest_entries(self, node: fs.Node) -> None:
        pipeline = audited_pipeline()
        node.run(pipeline, "good", partition=DAY)
        node.invalidate(pipeline, "good", DAY)
        newest = node.audit(limit=2)
        assert [e.event_type for e in newest] == ["asset.invalidated", "run.finished"]
        assert [e.event_type for e in node.audit(limit=1)] == ["asset.invalidated"]
        assert len(node.audit(limit=100)) == 3

    def test_a_cached_run_adds_no_entries(self, node: fs.Node) -> None:
        pipeline = audited_pipeline()
        node.run(pipeline, "good", partition=DAY)
        before = node.audit(limit=100)
        node.run(pipeline, "good", partition=DAY)
        assert node.audit(limit=100) == before
