"""``flowstone jobs list --tag KEY=VALUE`` and ``flowstone status --tag KEY=VALUE``
(repeatable): only jobs submitted with every tag given, only assets whose latest run has
them (issue 19, run metadata); a malformed filter is a usage error naming it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from types import ModuleType

import pytest
from cli_support import Database, Flowstone

import flowstone as fs

StartNode = Callable[[str], fs.Node]


class TestJobsListByTag:
    @pytest.fixture
    def submitted(self, start_node: StartNode, database: Database, imported: ModuleType) -> dict[str, int]:
        """Three waiting jobs (no worker runs): two for finance, one for ops."""
        node = start_node(database.url)
        tags = {
            "a": {"team": "finance", "env": "prod"},
            "b": {"team": "finance", "env": "dev"},
            "c": {"team": "ops"},
        }
        return {p: node.submit(imported.pipeline, "total", partition=p, tags=t).id for p, t in tags.items()}

    def test_one_tag_keeps_only_the_jobs_that_have_it(
        self, flowstone: Flowstone, database: Database, submitted: dict[str, int]
    ) -> None:
        result = flowstone("jobs", "list", "--json", "--tag", "team=finance", *database.args)
        assert result.returncode == 0, result.stderr
        listed = json.loads(result.stdout)
        assert sorted(job["id"] for job in listed) == sorted([submitted["a"], submitted["b"]])
        assert all(job["tags"]["team"] == "finance" for job in listed)

    def test_repeated_tags_must_all_match(
        self, flowstone: Flowstone, database: Database, submitted: dict[str, int]
    ) -> None:
        result = flowstone(
            "jobs", "list", "--json", "--tag", "team=finance", "--tag", "env=prod", *database.args
        )
        assert result.returncode == 0, result.stderr
        assert [job["id"] for job in json.loads(result.stdout)] == [submitted["a"]]

    def test_the_limit_counts_matching_jobs(
        self, flowstone: Flowstone, database: Database, submitted: dict[str, int]
    ) -> None:
        result = flowstone("jobs", "list", "--json", "--limit", "1", "--tag", "team=finance", *database.args)
        assert result.returncode == 0, result.stderr
        assert [job["id"] for job in json.loads(result.stdout)] == [submitted["b"]]  # newest first

    @pytest.mark.parametrize("database", ["sqlite"], indirect=True)
    def test_a_filter_that_is_not_key_value_is_a_usage_error(
        self, flowstone: Flowstone, database: Database
    ) -> None:
        result = flowstone("jobs", "list", "--tag", "team", *database.args)
        assert result.returncode == 2
        assert "'team' is not KEY=VALUE" in result.stderr


class TestStatusByTag:
    def test_status_shows_only_assets_whose_latest_run_has_the_tags(
        self, flowstone: Flowstone, database: Database, imported: ModuleType
    ) -> None:
        with fs.start(database_url=database.url, name="cli-test") as node:
            node.run(imported.pipeline, "total", partition="p", tags={"team": "finance"})
            node.run(imported.pipeline, "daily", partition=date(2025, 1, 2), tags={"team": "ops"})

        result = flowstone(
            "status", "pipe.py:pipeline", "--partition-str", "--partition", "p", "--json",
            "--tag", "team=finance", *database.args,
        )  # fmt: skip

        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        assert sorted(row["asset"] for row in rows) == ["doubled", "numbers", "total"]
        assert all(row["tags"] == {"team": "finance"} for row in rows)

    @pytest.mark.parametrize("database", ["sqlite"], indirect=True)
    def test_a_bad_tag_filter_is_a_usage_error_naming_the_key(
        self, flowstone: Flowstone, database: Database
    ) -> None:
        result = flowstone("status", "pipe.py:pipeline", "--tag", "Team=x", *database.args)
        assert result.returncode == 2
        assert "'Team'" in result.stderr
