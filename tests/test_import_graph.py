"""The imports of ``flowstone`` and ``supervisors`` run one way: no module imports itself back.

Issue 22 untangled four circles; this test keeps them from coming back. It reads the
source with ``ast`` (nothing is imported), so a circle is reported with its path even
when Python would have tolerated it at run time.

What counts as an import:

* ``import a.b`` and ``from a import b`` name the most specific module of ours they
  reach (``from flowstone import errors`` is an import of ``flowstone.errors``, not of
  ``flowstone``'s ``__init__``), as import-linter and grimp count them.
* Imports inside functions count inside a package: a deferred import is the usual way
  a circle is hidden (``# noqa: PLC0415 - x imports this module``), and it still runs.
* Imports under ``if TYPE_CHECKING:`` count inside a package too: a lower module that
  names a type from a module above it still depends on it (what it is handed changes
  when that module does). It describes what it is handed with a Protocol of its own.

Three rules follow:

1. Within each package (the modules of one directory), the graph of all imports,
   module-level, deferred and ``TYPE_CHECKING``, has no cycle.
2. Across both packages, the graph of module-level run-time imports (what ``import
   flowstone`` executes) has no cycle.
3. The four circles issue 22 named stay open even counting ``TYPE_CHECKING`` imports
   across the packages involved.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("flowstone", "supervisors")

Graph = Mapping[str, frozenset[str]]


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(
    name: str, path: Path, known: Mapping[str, Path], *, type_checking: bool = False
) -> Iterator[tuple[str, bool]]:
    """Yield (imported module, deferred) for every run-time import in one module.

    With ``type_checking``, imports under ``if TYPE_CHECKING:`` are yielded too.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def visit(node: ast.AST, deferred: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child) and not type_checking:
                for statement in child.orelse:
                    yield from visit(statement, deferred)
                continue
            inner = deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                module = resolve(child)
                targets = [
                    f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                    for alias in child.names
                ]
            else:
                targets = []
            for target in targets:
                if target in known and target != name:
                    yield target, inner
            yield from visit(child, inner)

    yield from visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)


def _graph(*, deferred: bool, same_package: bool, type_checking: bool = False) -> dict[str, frozenset[str]]:
    known = _modules()
    graph: dict[str, frozenset[str]] = {}
    for name, path in known.items():
        targets = {
            target
            for target, is_deferred in _imports(name, path, known, type_checking=type_checking)
            if (deferred or not is_deferred)
            and (not same_package or target.rpartition(".")[0] == name.rpartition(".")[0])
        }
        graph[name] = frozenset(targets)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan; the graphs are a few hundred modules deep at most
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_path_within(graph, component) for component in components]


def _path_within(graph: Graph, component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, for the failure message."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in sorted(graph.get(node, ())):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target in component and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")  # pragma: no cover


def _report(found: list[list[str]]) -> str:
    return "import circles: " + "; ".join(" -> ".join(cycle) for cycle in found)


def test_modules_of_each_package_import_one_way_counting_deferred_and_type_checking_imports() -> None:
    found = cycles(_graph(deferred=True, same_package=True, type_checking=True))
    assert not found, _report(found)


def test_module_level_imports_of_both_packages_form_no_circle() -> None:
    found = cycles(_graph(deferred=False, same_package=False))
    assert not found, _report(found)


# The four circles issue 22 named, each between modules (or packages) one of which sits
# above the other. They were closed only by ``TYPE_CHECKING`` imports, which rule 1 does
# not count; the lower module now describes what it is handed with a Protocol of its own.
ISSUE_22_CIRCLES = [
    (("flowstone._execution", "flowstone._node"), "flowstone._node.services", "flowstone._execution.pool"),
    (("flowstone._jobs",), "flowstone._jobs.api", "flowstone._jobs.handle"),
    (("flowstone._store.sql",), "flowstone._store.sql.store", "flowstone._store.sql.values"),
    (("supervisors",), "supervisors._ref", "supervisors._spec"),
]


def _reaches(graph: Graph, start: str, goal: str, within: tuple[str, ...]) -> bool:
    seen, frontier = {start}, [start]
    while frontier:
        node = frontier.pop()
        for target in graph.get(node, ()):
            if target == goal:
                return True
            if target not in seen and target.rpartition(".")[0] in within:
                seen.add(target)
                frontier.append(target)
    return False


@pytest.mark.parametrize(("packages", "upper", "lower"), ISSUE_22_CIRCLES)
def test_the_circles_of_issue_22_stay_open_counting_type_checking_imports(
    packages: tuple[str, ...], upper: str, lower: str
) -> None:
    graph = _graph(deferred=True, same_package=False, type_checking=True)
    assert _reaches(graph, upper, lower, packages), f"{upper} no longer imports {lower}: update this test"
    assert not _reaches(graph, lower, upper, packages), (
        f"{lower} imports {upper} again (counting TYPE_CHECKING imports, within {', '.join(packages)}): "
        "describe what the lower module is handed with a Protocol defined there"
    )


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": frozenset({"b"}), "b": frozenset({"a"})}, [["a", "b", "a"]]),
        ({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"})}, [["a", "b", "c", "a"]]),
        ({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset()}, []),
    ],
)
def test_the_cycle_finder_names_each_circle_as_a_path(graph: Graph, expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_a_deferred_import_that_closes_a_circle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from pkg.high import g\n    return g\n")
    (package / "high.py").write_text("from pkg import low\n\ndef g():\n    return low\n")
    (package / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.high import g\n"
    )
    known = {
        "pkg": package / "__init__.py",
        **{f"pkg.{m}": package / f"{m}.py" for m in ("low", "high", "typed")},
    }
    edges = {name: frozenset(t for t, _ in _imports(name, path, known)) for name, path in known.items()}
    assert edges["pkg.low"] == {"pkg.high"}
    assert edges["pkg.high"] == {"pkg.low"}
    assert edges["pkg.typed"] == frozenset()  # TYPE_CHECKING-only imports are excluded
    assert cycles(edges) == [["pkg.high", "pkg.low", "pkg.high"]]


def test_a_type_checking_import_that_closes_a_circle_is_found_when_counted(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "high.py").write_text("from pkg import low\n")
    (package / "low.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.high import H\n"
    )
    known = {"pkg": package / "__init__.py", **{f"pkg.{m}": package / f"{m}.py" for m in ("low", "high")}}

    def edges(*, type_checking: bool) -> dict[str, frozenset[str]]:
        return {
            name: frozenset(t for t, _ in _imports(name, path, known, type_checking=type_checking))
            for name, path in known.items()
        }

    assert cycles(edges(type_checking=False)) == []
    assert cycles(edges(type_checking=True)) == [["pkg.high", "pkg.low", "pkg.high"]]
