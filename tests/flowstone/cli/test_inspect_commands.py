"""``flowstone status``, ``assets``, ``graph`` and ``lineage`` over what a node recorded."""

from __future__ import annotations

import json
import re
from datetime import date
from types import ModuleType

import pytest
from cli_support import Database, Flowstone

import flowstone as fs


def materialize(url: str, module: ModuleType) -> None:
    """Record ``total`` and ``daily`` for 2025-01-02, and the failure of ``daily`` on 2025-01-05."""
    pipeline = module.pipeline
    with fs.start(database_url=url, name="cli-test") as node:
        node.run(pipeline, "total", partition=date(2025, 1, 2))
        node.run(pipeline, "daily", partition=date(2025, 1, 2))
        with pytest.raises(fs.MaterializationError):
            node.run(pipeline, "daily", partition=date(2025, 1, 5))


def state_of(table: str, asset: str) -> str:
    match = re.search(rf"│ {asset}\s*│ (\w+)\s*│", table)
    assert match is not None, f"no row for {asset!r} in:\n{table}"
    return match.group(1)


def test_status_shows_every_asset_of_a_partition_in_a_table(
    flowstone: Flowstone, sqlite_database: Database, imported: ModuleType
) -> None:
    materialize(sqlite_database.url, imported)

    result = flowstone("status", "pipe.py:pipeline", "--partition", "2025-01-02")

    assert result.returncode == 0, result.stderr
    assert "2025-01-02" in result.stdout
    states = {
        name: state_of(result.stdout, name)
        for name in ("numbers", "doubled", "total", "daily", "big", "blocker")
    }
    assert states == {
        "numbers": "completed",
        "doubled": "completed",
        "total": "completed",
        "daily": "completed",
        "big": "not_found",
        "blocker": "not_found",
    }


def test_status_of_one_asset_with_json_shows_its_failure(
    flowstone: Flowstone, database: Database, imported: ModuleType
) -> None:
    materialize(database.url, imported)

    result = flowstone(
        "status", "pipe.py:pipeline", "daily", "--partition", "2025-01-05", "--json", *database.args
    )

    assert result.returncode == 0, result.stderr
    [status] = json.loads(result.stdout)
    assert status["asset"] == "daily"
    assert status["state"] == "failed"
    assert status["partition"] == "2025-01-05"
    assert status["attempts"] == 1
    assert "no sales data for 2025-01-05" in status["error"]


def test_assets_with_json_lists_names_dependencies_and_descriptions(flowstone: Flowstone) -> None:
    result = flowstone("assets", "pipe.py:pipeline", "--json")

    assert result.returncode == 0, result.stderr
    assets = json.loads(result.stdout)
    assert next(a for a in assets if a["name"] == "total")["description"] == "The sum of the doubled numbers"
    listed = {a["name"]: a["depends_on"] for a in assets}
    assert listed == {
        "numbers": [],
        "doubled": ["numbers"],
        "total": ["doubled"],
        "daily": ["doubled"],
        "big": [],
        "blocker": [],
    }


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("mermaid", ["graph TD", "numbers --> doubled", "doubled --> total", "doubled --> daily"]),
        (
            "dot",
            ['digraph "cli" {', '"numbers" -> "doubled";', '"doubled" -> "total";', '"doubled" -> "daily";'],
        ),
    ],
)
def test_graph_draws_the_dependencies_in_the_requested_format(
    flowstone: Flowstone, fmt: str, expected: list[str]
) -> None:
    result = flowstone("graph", "pipe.py:pipeline", "--format", fmt)

    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout


def indent(text: str, label: str) -> int:
    """The column where ``label`` starts in a drawn tree."""
    line = next(line for line in text.splitlines() if label in line)
    return line.index(label)


def test_lineage_draws_the_upstream_tree(
    flowstone: Flowstone, database: Database, imported: ModuleType
) -> None:
    materialize(database.url, imported)

    result = flowstone("lineage", "pipe.py:pipeline", "total", "--partition", "2025-01-02", *database.args)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "total [2025-01-02]" in out.splitlines()[0]
    assert indent(out, "total [2025-01-02]") < indent(out, "doubled [2025-01-02]")
    assert indent(out, "doubled [2025-01-02]") < indent(out, "numbers [2025-01-02]")
    assert "daily" not in out


def test_lineage_downstream_draws_what_was_computed_from_it(
    flowstone: Flowstone, sqlite_database: Database, imported: ModuleType
) -> None:
    materialize(sqlite_database.url, imported)

    result = flowstone("lineage", "pipe.py:pipeline", "numbers", "--partition", "2025-01-02", "--downstream")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "numbers [2025-01-02]" in out.splitlines()[0]
    assert indent(out, "numbers [2025-01-02]") < indent(out, "doubled [2025-01-02]")
    assert indent(out, "doubled [2025-01-02]") < indent(out, "total [2025-01-02]")
    assert indent(out, "doubled [2025-01-02]") < indent(out, "daily [2025-01-02]")
