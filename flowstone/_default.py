"""The default node behind ``fs.run``, ``fs.get`` and friends.

Created on first use (in memory) and stopped at interpreter exit, as every live node is
(``_node/lifecycle.py``). It is kept for convenience in scripts and notebooks; services
and tests should start their own nodes with ``fs.start()``.
"""

from __future__ import annotations

import threading
from typing import Any, Unpack

from flowstone._node.config import NodeConfig
from flowstone._node.node import Node
from flowstone._options import build_options
from flowstone._start_kwargs import NodeKwargs

__all__ = ["default_node", "start"]

_lock = threading.Lock()
_default: Node | None = None


def start(**options: Unpack[NodeKwargs]) -> Node:
    """Start a node: ``with fs.start() as node: ...``. Options are ``NodeConfig`` fields
    (typed, so a type checker rejects a misspelt one)."""
    from flowstone._settings import resolve  # noqa: PLC0415 - tomllib loads only when starting

    # explicit > FLOWSTONE_<FIELD> > flowstone.toml / [tool.flowstone] > default
    given: dict[str, Any] = resolve(options).values
    return Node(build_options(NodeConfig, given, "node"))


def default_node() -> Node:
    """The process's default node, started on first use."""
    global _default
    with _lock:
        if _default is None or not _default.is_alive():
            _default = start(name="default")
        return _default
