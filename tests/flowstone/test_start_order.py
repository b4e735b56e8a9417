"""[7] The node's start order is written once, ``TREE_ORDER``: the tree is built, started
and stopped by it, and what the docs say about the order is what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

import flowstone as fs
import supervisors
from flowstone._node import assembly
from flowstone._node.assembly import TREE_ORDER, in_tree_order
from flowstone._store import MemoryStore

ROOT = Path(__file__).resolve().parents[2]
DOCS = {
    name: (ROOT / "docs" / name).read_text() for name in ("concepts.md", "decisions.md", "seed-issues.md")
}
WITHOUT_JOBS = [child for child in TREE_ORDER if child != "jobs"]


class StopWitness(MemoryStore):
    """A memory store that notes, when it is closed, which of the node's other children still run."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: dict[str, object] = {}
        self.alive_at_close: list[str] | None = None

    def close(self) -> None:
        if self.refs and self.alive_at_close is None:
            self.alive_at_close = [child for child, ref in self.refs.items() if ref.is_alive()]  # type: ignore[attr-defined]
        super().close()


class TestTheCodeFollowsTreeOrder:
    def test_a_memory_node_has_every_child_but_jobs_in_tree_order(self) -> None:
        with fs.start(name="order") as node:
            assert [child.id for child in node.tree().children] == WITHOUT_JOBS

    def test_a_node_with_a_database_has_every_child_in_tree_order(self, sqlite_url: str) -> None:
        with fs.start(name="order", database_url=sqlite_url) as node:
            assert [child.id for child in node.tree().children] == list(TREE_ORDER)

    def test_children_start_in_tree_order(self, sqlite_url: str) -> None:
        with capture_logs() as logs, fs.start(name="started", database_url=sqlite_url):
            pass
        started = [
            e["child"]
            for e in logs
            if e["event"] == "supervisor.child_started" and e["supervisor"] == "node:started"
        ]
        assert started == list(TREE_ORDER)

    def test_the_store_stops_last(self) -> None:
        store = StopWitness()
        node = fs.start(name="stopping", store=store)
        store.refs = {child: node._root.whereis(child) for child in WITHOUT_JOBS if child != "store"}
        node.stop()
        assert store.alive_at_close == []

    def test_the_tree_is_assembled_by_tree_order_whatever_order_the_children_come_in(self) -> None:
        specs = [supervisors.ChildSpec(child, lambda: None) for child in reversed(TREE_ORDER)]
        assert [spec.id for spec in in_tree_order(specs)] == list(TREE_ORDER)

    @pytest.mark.parametrize("ids", [["store", "cache"], ["store", "store"]])
    def test_a_child_the_order_does_not_place_once_is_refused(self, ids: list[str]) -> None:
        with pytest.raises(ValueError, match="TREE_ORDER"):
            in_tree_order([supervisors.ChildSpec(child, lambda: None) for child in ids])


class TestTheDocsStateTheCodesOrder:
    def test_every_arrow_chain_of_the_children_is_tree_order(self) -> None:
        chains = [
            (doc, re.split(r"\s*→\s*", chain))
            for doc, text in DOCS.items()
            for chain in re.findall(r"`(store(?:\s*→\s*\w+)+)`", text)
        ]
        assert {doc for doc, _ in chains} >= {"decisions.md", "seed-issues.md"}
        for doc, chain in chains:
            assert chain == list(TREE_ORDER), f"docs/{doc}: {' → '.join(chain)}"

    @pytest.mark.parametrize("doc", sorted(DOCS))
    def test_tree_order_is_named_where_the_code_defines_it(self, doc: str) -> None:
        assert "TREE_ORDER" in DOCS[doc]
        assert "`flowstone/_node/assembly.py`" in DOCS[doc]
        assert Path(assembly.__file__).resolve() == ROOT / "flowstone" / "_node" / "assembly.py"

    def test_the_drawn_tree_lists_the_children_in_tree_order(self) -> None:
        section = DOCS["concepts.md"].split("## The node and its supervision tree", 1)[1]
        drawing = section.split("```text", 1)[1].split("```", 1)[0]
        assert re.findall(r"[├└]── (\w+)", drawing) == list(TREE_ORDER)
