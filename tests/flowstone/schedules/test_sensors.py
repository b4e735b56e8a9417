"""Sensors poll every interval with their cursor, trigger every partition they return once,
commit the cursor with the runs, and survive failing polls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from schedule_pipelines import Recorder
from sensor_pipelines import FEED, ingest

import flowstone as fs
from flowstone.testing import ManualClock
from supervisors.testing import wait_for

StartNode = Callable[..., fs.Node]


@pytest.fixture(autouse=True)
def fresh_feed() -> Iterator[None]:
    FEED.__init__()  # type: ignore[misc]
    yield
    if FEED.block is not None:
        FEED.block.set()


def polled(node: fs.Node, count: int) -> None:
    wait_for(
        lambda: any(info.polls >= count for info in node.sensors()), timeout=10.0, message=f"{count} polls"
    )


def settle(node: fs.Node) -> None:
    if node.config.database_url is not None:
        wait_for(
            lambda: all(job.state == "completed" for job in node.jobs.list(limit=10_000)),
            timeout=30.0,
            message="every job completed",
        )


class TestDecorator:
    def test_a_sensor_is_declared_on_its_pipeline(self) -> None:
        [sensor] = ingest.sensors()
        assert (sensor.name, sensor.target, sensor.interval) == ("new_items", "loaded", 30.0)

    def test_a_bad_interval_or_missing_target_is_a_definition_error(self) -> None:
        p = fs.Pipeline("bad")
        with pytest.raises(fs.DefinitionError, match="interval"):
            p.sensor(lambda ctx, cursor: fs.SensorResult(), target="x", interval=0, name="s")
        with pytest.raises(fs.DefinitionError, match="target"):
            p.sensor(lambda ctx, cursor: fs.SensorResult(), interval=1.0, name="s")

    def test_a_result_needs_json_cursor_and_a_list_of_partitions(self) -> None:
        with pytest.raises(TypeError, match="cursor"):
            fs.SensorResult(partitions=[], cursor=object())
        with pytest.raises(TypeError, match="partitions"):
            fs.SensorResult(partitions="abc")


def test_a_sensor_polls_every_interval_and_triggers_each_new_partition_once(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    FEED.items = ["a", "b"]
    node = start_node(backend, pipelines=[ingest])
    polled(node, 1)
    assert sorted(recorder.wait(2)) == ["a", "b"]
    FEED.items.append("c")
    clock.advance(29)
    assert node.sensors()[0].polls == 1
    clock.advance(1)
    assert sorted(recorder.wait(3)) == ["a", "b", "c"]
    assert FEED.cursors == [None, 2]
    [info] = node.sensors()
    assert (info.cursor, info.polls, info.errors) == (3, 2, 0)
    settle(node)
    assert len(recorder.seen) == 3


def test_a_sensor_crashing_mid_poll_is_counted_shown_in_health_and_polls_again_with_the_same_cursor(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    FEED.items = ["a"]
    FEED.fail_next = 1
    node = start_node(backend, pipelines=[ingest])
    polled(node, 1)
    [info] = node.sensors()
    assert (info.errors, info.cursor) == (1, None)
    assert "RuntimeError: the feed is down" in (info.last_error or "")
    health = node.health()
    assert health.status == "degraded"
    assert not health.checks["sensors"].ok
    assert "new_items" in health.checks["sensors"].detail
    events: list[object] = []
    with node.events.subscribe(events.append):
        clock.advance(30)
        assert recorder.wait(1) == ["a"]
    assert fs.events.SensorPolled("new_items", 1) in events
    assert FEED.cursors == [None, None]
    assert node.sensors()[0].last_error is None
    assert node.health().checks["sensors"].ok


def test_a_sensor_returning_a_thousand_partitions_in_one_poll_triggers_them_all(
    backend: str | None, start_node: StartNode, recorder: Recorder
) -> None:
    FEED.items = [f"item-{i:04d}" for i in range(1000)]
    node = start_node(backend, pipelines=[ingest], **({} if backend is None else {"queues": {"assets": 8}}))
    polled(node, 1)
    seen = recorder.wait(1000, timeout=60.0)
    assert sorted(seen) == FEED.items
    settle(node)
    assert len(recorder.seen) == 1000


def test_a_paused_sensor_does_not_poll(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    node = start_node(backend, pipelines=[ingest])
    polled(node, 1)
    node.pause_sensor("new_items")
    FEED.items = ["late"]
    clock.advance(90)
    assert node.sensors()[0].polls == 1
    node.resume_sensor("new_items")
    clock.advance(30)
    assert recorder.wait(1) == ["late"]


def test_only_one_node_polls_a_sensor_at_a_time(
    database_url: str, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    FEED.items = ["a"]
    nodes = [start_node(database_url, pipelines=[ingest]) for _ in range(3)]
    polled(nodes[0], 1)
    for _ in range(3):
        clock.advance(30)
    assert len(FEED.cursors) == 4  # one poll per interval, whichever node holds the lease
    assert recorder.wait(1) == ["a"]
    settle(nodes[0])
    assert len(recorder.seen) == 1


def test_the_same_partition_returned_again_runs_once(
    sqlite_url: str, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    p = fs.Pipeline("again", reference=None)

    @p.asset
    def target(ctx: fs.Context) -> Any:
        ctx.resources["recorder"].add(ctx.partition)

    calls: list[Any] = []

    @p.sensor(target="target", interval=10.0)
    def same(ctx: fs.SensorContext, cursor: Any) -> fs.SensorResult:
        calls.append(cursor)
        return fs.SensorResult(partitions=["x", "x"], cursor=len(calls))

    node = start_node(None, pipelines=[p])
    polled(node, 1)
    clock.advance(10)
    polled(node, 2)
    assert recorder.wait(1) == ["x"]
    assert len(recorder.seen) == 1
