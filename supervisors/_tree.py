"""Tree inspection: a frozen, JSON-serialisable snapshot and a ``pstree``-like drawing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["ChildInfo", "TreeNode", "draw_tree", "render_tree"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """One child as its supervisor sees it (``which_children``).

    ``ref`` is None while the child is not running; ``last_exit`` the ``ExitReason`` of its
    previous instance, if any.
    """

    id: str
    ref: Any
    type: str
    status: str
    restarts: int
    last_exit: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeNode:
    """A snapshot of one node of a supervision tree.

    ``kind`` is ``supervisor``, ``dynamic_supervisor`` or ``worker``; ``started_at`` an ISO
    8601 UTC timestamp; ``last_exit`` a short description and ``last_exit_traceback`` the
    formatted traceback of a crash. ``busy`` (and ``status="busy"``) marks a supervisor
    that did not answer within the ``tree(timeout=...)``: its own node is shown, its
    children are not.
    """

    kind: str
    id: str
    status: str
    strategy: str | None = None
    restarts: int = 0
    started_at: str | None = None
    last_exit: str | None = None
    last_exit_traceback: str | None = None
    mailbox: int = 0
    busy: bool = False
    children: tuple[TreeNode, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A dict of plain JSON types, children nested."""
        return {
            "kind": self.kind,
            "id": self.id,
            "status": self.status,
            "strategy": self.strategy,
            "restarts": self.restarts,
            "started_at": self.started_at,
            "last_exit": self.last_exit,
            "last_exit_traceback": self.last_exit_traceback,
            "mailbox": self.mailbox,
            "busy": self.busy,
            "children": [child.to_dict() for child in self.children],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeNode:
        """Rebuild a snapshot from ``to_dict()`` output (e.g. read from another process)."""
        fields = {k: v for k, v in data.items() if k != "children"}
        children = tuple(cls.from_dict(c) for c in data.get("children", ()))
        return cls(**fields, children=children)

    def walk(self) -> list[TreeNode]:
        """This node and every node below it, depth first."""
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


def iso_time(timestamp: float | None) -> str | None:
    """Format a wall-clock timestamp for a snapshot."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def _label(node: TreeNode) -> str:
    parts = [node.id]
    if node.strategy:
        parts.append(f"({node.strategy})")
    elif node.kind == "worker":
        parts.append("[worker]")
    parts.append(node.status)
    if node.restarts:
        parts.append(f"restarts={node.restarts}")
    if node.busy and node.status != "busy":
        parts.append("busy")
    if node.mailbox:
        parts.append(f"mailbox={node.mailbox}")
    if node.last_exit and node.status != "running":
        parts.append(f"last_exit={node.last_exit}")
    return " ".join(parts)


def draw_tree(root: T, label: Callable[[T], str], children: Callable[[T], Sequence[T]]) -> str:
    """Draw any tree like ``pstree``: ``label(root)``, then each child on its own line
    under ``├──``/``└──`` guides, depth first.

    The one tree drawing of both packages: the supervision tree (``render_tree``) and the
    CLI's lineage trees use it, so they look alike and a pipe gets plain text (no
    terminal codes, no wrapping).
    """
    lines = [label(root)]

    def draw(nodes: Sequence[T], prefix: str) -> None:
        for index, child in enumerate(nodes):
            last = index == len(nodes) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{label(child)}")
            draw(children(child), prefix + ("    " if last else "│   "))

    draw(children(root), "")
    return "\n".join(lines)


def render_tree(node: TreeNode) -> str:
    """Draw a supervision tree like ``pstree``: one line per node with its status and restarts."""
    return draw_tree(node, _label, lambda each: each.children)
