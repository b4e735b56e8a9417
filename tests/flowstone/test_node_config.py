"""``fs.start`` options: each one checked at start with an error naming it, none leaking.

Issue 13: ``max_value_bytes=-1`` and ``"64MB"`` were accepted and failed every run later;
``shutdown_grace=inf`` with a queue failed inside the supervision tree and left an actor
thread behind; ``repr(node.config)`` showed the database password.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

import flowstone as fs
from flowstone._node.config import NodeConfig
from flowstone._store import MemoryStore

SECONDS = (
    "rescue_after",
    "prune_after",
    "shutdown_grace",
    "poll_interval",
    "health_timeout",
    "connect_timeout",
    "statement_timeout",
    "route_decision_ttl",
    "wait_tick",
)

BAD_OPTIONS: list[tuple[str, Any, type[Exception]]] = [
    ("name", 3, TypeError),
    ("name", "", ValueError),
    ("database_url", 5, TypeError),
    ("database_url", "", ValueError),
    ("auto_migrate", "yes", TypeError),
    ("max_value_bytes", -1, ValueError),
    ("max_value_bytes", 0, ValueError),
    ("max_value_bytes", "64MB", TypeError),
    ("max_scatter_key_bytes", 0, ValueError),
    ("max_scatter_key_bytes", "4KB", TypeError),
    ("scatter_lease", 0, ValueError),
    ("max_value_bytes", 1.5, TypeError),
    ("max_value_bytes", True, TypeError),
    ("max_concurrency", 0, ValueError),
    ("max_concurrency", "2", TypeError),
    ("max_parallel", -3, ValueError),
    ("retry", 3, TypeError),
    ("job_retry", {"max_attempts": 3}, TypeError),
    ("lineage_failure", "ignore", ValueError),
    ("resources", ["warehouse"], TypeError),
    ("resources", {1: "warehouse"}, TypeError),
    ("io", object(), TypeError),
    ("store", object(), TypeError),
    ("lineage_store", object(), TypeError),
    ("memory_records", 0, ValueError),
    ("memory_records", "10", TypeError),
    ("queues", ["assets"], TypeError),
    ("queues", {"assets": -1}, ValueError),
    ("queues", {"": 1}, ValueError),
    ("queues", {"assets": "8"}, TypeError),
    ("upkeep", "yes", TypeError),
    ("allow_imports", "mypipes", TypeError),
    ("on_give_up", "restart", ValueError),
    ("on_give_up", 1, TypeError),
    ("isolation", "vm", ValueError),
    ("isolation", None, TypeError),
    ("allow_imports", ["bad pattern!"], ValueError),
    ("route_decisions", "forever", ValueError),
    ("route_decisions", "", ValueError),
    ("route_decisions", 7, TypeError),
    ("route_decisions", None, TypeError),
    ("schedules", "daily", TypeError),
    ("schedules", [object()], TypeError),
    ("clock", object(), TypeError),
    ("testing", "eager", ValueError),
    ("testing", True, ValueError),
    ("pipelines", "sales", TypeError),
    ("pipelines", [object()], TypeError),
    ("signal_secret", "short", ValueError),
    ("signal_secret", 12345, TypeError),
    ("previous_signal_secrets", "one-secret-not-a-list!!", TypeError),
    ("previous_signal_secrets", ["short"], ValueError),
    ("max_signal_bytes", 0, ValueError),
    ("max_signal_bytes", "1MB", TypeError),
    *[(name, math.inf, ValueError) for name in SECONDS],
    *[(name, math.nan, ValueError) for name in SECONDS],
    *[(name, 0, ValueError) for name in SECONDS],
    *[(name, -1.0, ValueError) for name in SECONDS],
    *[(name, "15", TypeError) for name in SECONDS],
    *[(name, True, TypeError) for name in SECONDS],
]


class BrokenStore(MemoryStore):
    """A store whose database cannot be reached: it fails inside the supervision tree."""

    def open(self) -> None:
        raise fs.StoreUnavailableError("the database is unreachable")


class TestValidation:
    @pytest.mark.parametrize(
        ("option", "value", "error"),
        BAD_OPTIONS,
        ids=[f"{option}={value!r}" for option, value, _ in BAD_OPTIONS],
    )
    def test_a_bad_option_fails_the_start_with_an_error_naming_it(
        self, option: str, value: Any, error: type[Exception]
    ) -> None:
        with pytest.raises(error, match=option):
            fs.start(**{option: value})

    def test_every_option_has_a_bad_value_in_this_test(self) -> None:
        """A new option gets its checks (and a line above) when it is added."""
        tested = {option for option, _, _ in BAD_OPTIONS}
        assert set(NodeConfig.__dataclass_fields__) <= tested

    def test_good_values_of_every_kind_are_accepted(self, sqlite_url: str) -> None:
        config = NodeConfig(
            name="n",
            database_url=sqlite_url,
            max_value_bytes=1,
            max_concurrency=1,
            queues={"assets": 0, "other": 2},
            shutdown_grace=0.5,
            rescue_after=1,
            health_timeout=0.1,
            resources={"warehouse": object()},
            io=fs.io.Memory(),
            store=MemoryStore(),
        )
        assert config.shutdown_grace == 0.5

    def test_the_bad_value_is_shown_with_the_option(self) -> None:
        with pytest.raises(ValueError, match=r"max_value_bytes must be .*-1"):
            fs.start(max_value_bytes=-1)

    def test_a_queue_needs_a_finite_shutdown_grace_before_anything_starts(self, sqlite_url: str) -> None:
        with pytest.raises(ValueError, match="shutdown_grace"):
            fs.start(database_url=sqlite_url, queues={"assets": 1}, shutdown_grace=math.inf)


class TestFailedStartLeavesNoThread:
    def test_an_invalid_option_with_a_queue(self, sqlite_url: str) -> None:
        before = threading.active_count()
        with pytest.raises(ValueError, match="shutdown_grace"):
            fs.start(database_url=sqlite_url, queues={"assets": 1}, shutdown_grace=math.inf)
        assert threading.active_count() == before

    def test_a_store_failing_inside_the_supervision_tree(self) -> None:
        before = threading.active_count()
        with pytest.raises(fs.StoreUnavailableError, match="unreachable"):
            fs.start(store=BrokenStore())
        assert threading.active_count() == before

    def test_a_file_that_is_not_a_database(self, tmp_path: Path) -> None:
        path = tmp_path / "flowstone.db"
        path.write_bytes(b"not a database, " * 1024)
        before = threading.active_count()
        with pytest.raises(Exception, match="database"):
            fs.start(database_url=f"sqlite:///{path}", queues={"assets": 2})
        assert threading.active_count() == before

    def test_a_started_node_counts_its_threads_and_gives_them_back(self) -> None:
        before = threading.active_count()
        node = fs.start(max_concurrency=2)
        assert threading.active_count() > before
        node.stop()
        assert threading.active_count() == before


class TestRepr:
    def test_the_config_repr_masks_the_database_password(self) -> None:
        config = NodeConfig(database_url="postgresql+psycopg://app:s3cret@db.example/flowstone")
        for text in (repr(config), str(config)):
            assert "s3cret" not in text
            assert "postgresql+psycopg://app:***@db.example/flowstone" in text
            assert text.startswith("NodeConfig(name='flowstone', database_url=")
            assert "shutdown_grace=15.0" in text

    def test_a_node_on_postgresql_does_not_show_its_password(self, postgres_database: str) -> None:
        url = make_url(postgres_database).set(password="s3cret").render_as_string(hide_password=False)
        with fs.start(database_url=url) as node:  # the test server trusts, whatever the password
            assert "s3cret" not in repr(node.config)
            assert "***" in repr(node.config)
            assert node.config.database_url == url  # the value itself is intact

    def test_a_config_without_a_database_shows_none(self) -> None:
        assert "database_url=None" in repr(NodeConfig())
