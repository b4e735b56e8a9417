"""``flowstone schedules`` and ``flowstone sensors``: list (``--json``), pause and resume,
on the database the nodes share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
import structlog
from click.testing import CliRunner
from schedule_pipelines import reports
from sensor_pipelines import FEED, ingest

import flowstone as fs
from flowstone.cli import main
from supervisors.testing import wait_for

StartNode = Callable[..., fs.Node]


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """The command configures structlog for its process: put this one's back."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_schedules_lists_pauses_and_resumes(sqlite_url: str, start_node: StartNode) -> None:
    node = start_node(
        sqlite_url, schedules=[fs.Schedule(reports, "daily", cron="0 6 * * *", timezone="Europe/Berlin")]
    )
    code, out = invoke("schedules", "--json", "--database-url", sqlite_url)
    assert code == 0
    [row] = json.loads(out)
    assert (row["name"], row["cron"], row["timezone"], row["paused"]) == (
        "daily",
        "0 6 * * *",
        "Europe/Berlin",
        False,
    )
    assert re.search(r"T06:00:00\+0[12]:00$", row["next_fire"])  # the CLI reads real time
    assert invoke("schedules", "pause", "daily", "--database-url", sqlite_url) == (
        0,
        "paused schedule daily\n",
    )
    assert node.schedules()[0].paused
    assert invoke("schedules", "resume", "daily", "--database-url", sqlite_url)[0] == 0
    assert not node.schedules()[0].paused
    code, out = invoke("schedules", "--database-url", sqlite_url)
    assert code == 0
    assert "daily" in out
    assert "Europe/Berlin" in out


def test_an_unknown_schedule_is_a_clear_error(sqlite_url: str, start_node: StartNode) -> None:
    start_node(sqlite_url)
    result = CliRunner().invoke(main, ["schedules", "pause", "nope", "--database-url", sqlite_url])
    assert result.exit_code == 1
    assert "no schedule named 'nope'" in result.output


def test_sensors_lists_pauses_and_resumes(sqlite_url: str, start_node: StartNode) -> None:
    FEED.__init__()  # type: ignore[misc]
    FEED.items = ["a"]
    node = start_node(sqlite_url, pipelines=[ingest])
    wait_for(lambda: node.sensors() and node.sensors()[0].polls >= 1, message="first poll")
    code, out = invoke("sensors", "--json", "--database-url", sqlite_url)
    assert code == 0
    [row] = json.loads(out)
    assert (row["name"], row["cursor"], row["errors"], row["paused"]) == ("new_items", 1, 0, False)
    assert invoke("sensors", "pause", "new_items", "--database-url", sqlite_url)[0] == 0
    assert node.sensors()[0].paused
    assert invoke("sensors", "resume", "new_items", "--database-url", sqlite_url)[0] == 0
    assert not node.sensors()[0].paused
