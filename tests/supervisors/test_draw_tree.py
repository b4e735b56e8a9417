"""``supervisors.draw_tree``: the one tree drawing (supervision trees and the CLI's lineage)."""

from __future__ import annotations

from pathlib import Path

from supervisors import TreeNode, draw_tree, render_tree

ROOT = Path(__file__).resolve().parents[2]
Branch = tuple[str, list["Branch"]]


def label(branch: Branch) -> str:
    return branch[0]


def children(branch: Branch) -> list[Branch]:
    return branch[1]


def test_any_tree_is_drawn_with_pstree_guides() -> None:
    tree: Branch = ("root", [("a", [("a1", []), ("a2", [])]), ("b", [("b1", [])])])
    assert draw_tree(tree, label, children).splitlines() == [
        "root",
        "├── a",
        "│   ├── a1",
        "│   └── a2",
        "└── b",
        "    └── b1",
    ]


def test_a_lone_root_is_one_line() -> None:
    assert draw_tree(("alone", []), label, children) == "alone"


def test_the_supervision_tree_is_drawn_by_the_same_function() -> None:
    worker = TreeNode(kind="worker", id="store", status="running", restarts=2)
    root = TreeNode(
        kind="supervisor", id="node", status="running", strategy="one_for_one", children=(worker,)
    )
    assert render_tree(root) == "node (one_for_one) running\n└── store [worker] running restarts=2"


def test_no_other_tree_renderer_is_used_in_the_packages() -> None:
    sources = [*ROOT.joinpath("flowstone").rglob("*.py"), *ROOT.joinpath("supervisors").rglob("*.py")]
    users = [str(path.relative_to(ROOT)) for path in sources if "rich.tree" in path.read_text()]
    assert users == []
