"""The pytest plugin shipped with FlowStone (``pytest11`` entry point): a node per test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flowstone as fs


def sales_pipeline(name: str = "plugin", reference: str | None = None) -> fs.Pipeline:
    pipeline = fs.Pipeline(name, reference=reference)

    @pipeline.asset
    def numbers(ctx: fs.Context) -> list[int]:
        return [1, 2, 3, 4, 5]

    @pipeline.asset
    def total(ctx: fs.Context, numbers: list[int]) -> int:
        return sum(n * 2 for n in numbers)

    return pipeline


def test_flowstone_node_is_a_running_node_in_memory(flowstone_node: fs.Node) -> None:
    assert flowstone_node.is_alive()
    assert flowstone_node.run(sales_pipeline(), "total") == 30
    with pytest.raises(fs.FlowStoneError, match="durable jobs need a database"):
        flowstone_node.jobs  # noqa: B018 - the property raises without a database


JOBS = sales_pipeline(
    "plugin_jobs", f"{__name__}:JOBS"
)  # module level: jobs name their pipeline by import path


def test_flowstone_sqlite_node_keeps_durable_jobs(flowstone_sqlite_node: fs.Node, tmp_path: Path) -> None:
    pipeline = JOBS
    handle = flowstone_sqlite_node.submit(pipeline, "numbers")
    assert fs.testing.drain(flowstone_sqlite_node) == {"completed": 1}
    assert handle.wait(1) == [1, 2, 3, 4, 5]
    assert (tmp_path / "flowstone.db").exists()


def test_an_installed_flowstone_gives_any_project_the_fixtures(tmp_path: Path) -> None:
    """A project with no conftest of ours gets the fixtures, its options, and stopped nodes."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def flowstone_node_options():
                return {"name": "custom", "max_concurrency": 2}
            """
        )
    )
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            seen = []

            def test_uses_the_memory_node(flowstone_node):
                assert flowstone_node.config.name == "custom"
                assert flowstone_node.config.database_url is None
                seen.append(flowstone_node)

            def test_uses_the_sqlite_node(flowstone_sqlite_node, tmp_path):
                assert flowstone_sqlite_node.config.database_url == f"sqlite:///{tmp_path / 'flowstone.db'}"
                seen.append(flowstone_sqlite_node)

            def test_the_nodes_were_stopped_after_their_tests():
                assert len(seen) == 2
                assert not any(node.is_alive() for node in seen)
            """
        )
    )
    env = {**os.environ, "FLOWSTONE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
