"""``flowstone.sensors``: new files, new rows by keyset, an upstream asset materialized."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from schedule_pipelines import Recorder
from sensor_pipelines import after
from sqlalchemy import create_engine, text

import flowstone as fs
import flowstone.sensors
from flowstone.testing import ManualClock
from supervisors.testing import wait_for

StartNode = Callable[..., fs.Node]


def recording_pipeline(name: str) -> fs.Pipeline:
    p = fs.Pipeline(name)

    @p.asset
    def ingest(ctx: fs.Context) -> Any:
        ctx.resources["recorder"].add(ctx.partition)
        return ctx.partition

    @p.asset
    def raw(ctx: fs.Context) -> Any:
        return ctx.partition

    return p


def test_files_triggers_each_new_file_once(
    tmp_path: Path, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text("1")
    (inbox / "skip.txt").write_text("x")
    p = recording_pipeline("files")
    p.sensor(flowstone.sensors.files(str(inbox / "*.csv"), target="ingest"), interval=5.0)
    assert [s.name for s in p.sensors()] == ["ingest_files"]
    start_node(None, pipelines=[p])
    assert recorder.wait(1) == [str(inbox / "a.csv")]
    later = inbox / "b.csv"
    later.write_text("2")
    stat = (inbox / "a.csv").stat()
    os.utime(later, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    clock.advance(5)
    assert recorder.wait(2) == [str(inbox / "a.csv"), str(later)]
    clock.advance(5)
    assert len(recorder.seen) == 2


def test_sql_rows_triggers_each_new_row_by_keyset(
    tmp_path: Path, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)"))
        c.execute(text("INSERT INTO orders (id, note) VALUES (1, 'x'), (2, 'y')"))
    p = recording_pipeline("rows")
    p.sensor(flowstone.sensors.sql_rows(url, "orders", "id", target="ingest"), interval=5.0)
    node = start_node(None, pipelines=[p])
    assert sorted(recorder.wait(2)) == [1, 2]
    with engine.begin() as c:
        c.execute(text("INSERT INTO orders (id, note) VALUES (3, 'z')"))
    engine.dispose()
    clock.advance(5)
    assert sorted(recorder.wait(3)) == [1, 2, 3]
    assert node.sensors()[0].cursor == 3


def test_asset_materialized_runs_the_target_for_each_materialized_partition(
    backend: str | None, start_node: StartNode, clock: ManualClock, recorder: Recorder
) -> None:
    node = start_node(backend, pipelines=[after])
    wait_for(lambda: node.sensors() and node.sensors()[0].polls >= 1, message="first poll")
    node.run(after, "raw", partition="2026-01-05")
    node.run(after, "raw", partition="2026-01-06")
    clock.advance(5)
    assert sorted(recorder.wait(2)) == ["2026-01-05", "2026-01-06"]
    clock.advance(5)
    assert len(recorder.seen) == 2


def test_built_in_sensors_check_their_arguments() -> None:
    with pytest.raises(fs.DefinitionError, match="pattern"):
        flowstone.sensors.files("", target="ingest")
    with pytest.raises(fs.DefinitionError, match="cursor_column"):
        flowstone.sensors.sql_rows("sqlite://", "orders", "", target="ingest")
    with pytest.raises(fs.DefinitionError, match="target"):
        flowstone.sensors.asset_materialized("p", "raw", target="")
