"""The pytest plugin shipped with FlowStone: a node per test, stopped after it.

pytest loads it through the package's ``pytest11`` entry point, so installing FlowStone is
enough: ``def test_x(flowstone_node): ...``. FlowStone itself is imported only when a
fixture is used, so a test run that never asks for one (or that measures coverage from its
start) does not import it early. Override ``flowstone_node_options`` (a fixture
returning ``fs.start`` options) in a ``conftest.py`` to change how the nodes start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flowstone._node.node import Node

__all__ = ["flowstone_node", "flowstone_node_options", "flowstone_sqlite_node"]


@pytest.fixture
def flowstone_node_options() -> dict[str, Any]:
    """``fs.start`` options of ``flowstone_node`` and ``flowstone_sqlite_node``; none by default.

    ``database_url`` is always given (None, or the SQLite file), so that the
    ``FLOWSTONE_DATABASE_URL`` of the shell running the tests never points a test at a
    real database.
    """
    return {}


@pytest.fixture
def flowstone_node(flowstone_node_options: dict[str, Any]) -> Iterator[Node]:
    """A node in memory, stopped (its threads joined) after the test."""
    from flowstone._default import start  # noqa: PLC0415 - see the module docstring

    with start(**{**flowstone_node_options, "database_url": None}) as node:
        yield node


@pytest.fixture
def flowstone_sqlite_node(flowstone_node_options: dict[str, Any], tmp_path: Path) -> Iterator[Node]:
    """A node on a SQLite file in the test's ``tmp_path`` (durable jobs work), stopped after it."""
    from flowstone._default import start  # noqa: PLC0415 - see the module docstring

    url = f"sqlite:///{tmp_path / 'flowstone.db'}"
    with start(**{**flowstone_node_options, "database_url": url}) as node:
        yield node
