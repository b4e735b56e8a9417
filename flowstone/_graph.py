"""The dependency graph of a pipeline's assets, as pure functions over plain data.

Every function takes ``deps``: the mapping from asset name to the names it depends on,
in the order the assets were defined and the parameters declared. Pipelines, runners and
the CLI wrap these functions; nothing here touches actors, stores or clocks, so the
ordering rules can be property-tested directly.

``check_graph`` is the validator and names the pipeline in its errors. The other functions
assume a graph it accepted: an unknown name raises ``KeyError`` and a cycle raises a
``CycleError`` whose message cannot name the pipeline.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections import deque
from collections.abc import Iterable, Mapping, Set
from typing import Literal, TypeAlias, get_args

from flowstone.errors import CycleError, DefinitionError

__all__ = [
    "Deps",
    "RenderFormat",
    "check_graph",
    "topological_order",
    "upstream",
    "downstream",
    "dependants",
    "levels",
    "render",
]

Deps: TypeAlias = Mapping[str, tuple[str, ...]]
RenderFormat: TypeAlias = Literal["ascii", "mermaid", "dot"]

_RENDER_FORMATS: tuple[str, ...] = get_args(RenderFormat)


# -- validation ------------------------------------------------------------------------------


def check_graph(pipeline: str, deps: Deps) -> None:
    """Reject a graph that names an unknown asset or has a dependency cycle.

    Unknown names are reported before cycles because a typo in a parameter name is the
    likelier mistake, and its fix ("did you mean ...?") is the more specific one.

    Raises:
        DefinitionError: an asset depends on a name the pipeline does not define.
        CycleError: the dependencies form a cycle; ``.cycle`` lists it as
            ``("a", "b", "a")``, each asset depending on the next.
    """
    for name, needs in deps.items():
        for dep in needs:
            if dep not in deps:
                raise DefinitionError(_unknown_message(pipeline, name, dep, deps))
    placed = _kahn(deps, deps.keys())
    if len(placed) < len(deps):
        raise _cycle_error(pipeline, _find_cycle(deps, deps.keys() - set(placed)))


def _unknown_message(pipeline: str, name: str, dep: str, deps: Deps) -> str:
    # The asset itself is no useful suggestion: depending on itself would be a cycle.
    candidates = [other for other in deps if other != name]
    close = difflib.get_close_matches(dep, candidates, n=1)
    hint = (
        f"did you mean {close[0]!r}?" if close else f"define an asset named {dep!r} or fix the parameter name"
    )
    return f"pipeline {pipeline!r}: asset {name!r} depends on unknown asset {dep!r}; {hint}"


def _find_cycle(deps: Deps, stuck: Set[str]) -> tuple[str, ...]:
    """Walk from a stuck asset along stuck dependencies until a name repeats.

    Every asset Kahn's algorithm could not place waits on at least one other unplaced
    asset, so the walk never ends early, and the names from the first repeat onwards are
    exactly one cycle (not the path that led to it).
    """
    index = {name: i for i, name in enumerate(deps)}
    start = min(stuck, key=index.__getitem__)
    path: list[str] = []
    seen: dict[str, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(dep for dep in deps[node] if dep in stuck)
    cycle = path[seen[node] :]
    # Start at the earliest-defined member so the same cycle is always reported the same way.
    first = min(range(len(cycle)), key=lambda i: index[cycle[i]])
    cycle = cycle[first:] + cycle[:first]
    return (*cycle, cycle[0])


def _cycle_error(pipeline: str | None, cycle: tuple[str, ...]) -> CycleError:
    where = f"pipeline {pipeline!r}: " if pipeline is not None else ""
    return CycleError(
        f"{where}dependency cycle {' -> '.join(cycle)}; "
        "break the cycle by removing one of these dependencies",
        cycle,
    )


# -- ordering --------------------------------------------------------------------------------


def _kahn(deps: Deps, nodes: Set[str]) -> list[str]:
    """Order ``nodes`` dependencies-first, ignoring dependencies outside ``nodes``.

    Kahn's algorithm with a heap of definition indexes as the ready set: whenever several
    assets are ready, the earliest-defined runs first, so a graph defined in a valid order
    comes back unchanged. The heap costs O(log V) per asset over a plain deque, which is
    noise next to the guarantee. Returns fewer names than ``nodes`` when there is a cycle.
    """
    names = list(deps)
    index = {name: i for i, name in enumerate(names)}
    waiting: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    for name in nodes:
        # dict.fromkeys: a name listed twice is still one dependency.
        needs = [dep for dep in dict.fromkeys(deps[name]) if dep in nodes]
        waiting[name] = len(needs)
        for dep in needs:
            children.setdefault(dep, []).append(name)
    ready = [index[name] for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for child in children.get(name, ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, index[child])
    return order


def _ordered(deps: Deps, nodes: Set[str]) -> list[str]:
    order = _kahn(deps, nodes)
    if len(order) < len(nodes):
        raise _cycle_error(None, _find_cycle(deps, nodes - set(order)))
    return order


def _closure(edges: Mapping[str, Iterable[str]], starts: Iterable[str]) -> set[str]:
    """Every name reachable from ``starts`` along ``edges``, the starts included."""
    found: set[str] = set()
    queue: deque[str] = deque()
    for start in starts:
        if start not in edges:
            raise KeyError(f"no asset named {start!r}")
        if start not in found:
            found.add(start)
            queue.append(start)
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in found:
                found.add(nxt)
                queue.append(nxt)
    return found


def topological_order(deps: Deps, targets: Iterable[str] | None = None) -> list[str]:
    """The assets needed for ``targets`` (all when None), every dependency first.

    Ties go to definition order, so the same definitions always plan the same way.
    Iterative throughout: a chain of any length stays within the recursion limit.

    Raises:
        KeyError: a target is not an asset of the graph.
        CycleError: the graph has a cycle (``check_graph`` reports it better).
    """
    nodes = deps.keys() if targets is None else _closure(deps, targets)
    return _ordered(deps, nodes)


def upstream(deps: Deps, name: str) -> list[str]:
    """Every asset ``name`` depends on, directly or not, dependencies first."""
    return [asset for asset in topological_order(deps, [name]) if asset != name]


def downstream(deps: Deps, name: str) -> list[str]:
    """Every asset that depends on ``name``, directly or not, dependencies first."""
    below = _closure(dependants(deps), [name])
    below.discard(name)
    return _ordered(deps, below)


def dependants(deps: Deps) -> dict[str, tuple[str, ...]]:
    """The reverse edges: each asset mapped to the assets that depend on it directly.

    Keys and values both follow definition order; every asset has a key.
    """
    result: dict[str, list[str]] = {name: [] for name in deps}
    for name, needs in deps.items():
        for dep in dict.fromkeys(needs):
            result[dep].append(name)
    return {name: tuple(users) for name, users in result.items()}


def levels(deps: Deps, targets: Iterable[str] | None = None) -> list[list[str]]:
    """Topological layers: each asset depends only on assets in earlier layers.

    An asset sits one layer below its deepest dependency (roots in layer 0), so the
    assets of one layer are independent of each other and can run concurrently. Each
    layer is in definition order.
    """
    order = topological_order(deps, targets)
    depth: dict[str, int] = {}
    for name in order:
        # The needed set is closed under dependencies, so every dep already has a depth.
        depth[name] = 1 + max((depth[dep] for dep in deps[name]), default=-1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in deps:
        if name in depth:
            layers[depth[name]].append(name)
    return layers


# -- drawing ---------------------------------------------------------------------------------


def render(
    pipeline: str,
    deps: Deps,
    descriptions: Mapping[str, str] | None = None,
    format: RenderFormat = "ascii",
    routes: Mapping[str, str] | None = None,
    parallels: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Draw the graph as layered text, a Mermaid flowchart or a Graphviz digraph.

    Edges point from a dependency to its dependant (the direction data flows). Only the
    first line of a description is shown, so long docstrings keep the drawing readable.
    ``routes`` maps each routed asset (a branch) to its router: routers are drawn as
    decisions (``[router]``, a Mermaid rhombus, a dot diamond) and the edge from a router
    to a branch as a dashed, labelled one. ``parallels`` maps each parallel asset to its
    branches (name → final asset): it is drawn as a join (``[parallel: ...]``, a Mermaid
    subroutine, a doubled dot box), fed by a thick, labelled edge from each final.

    Raises:
        ValueError: ``format`` is not one of the supported formats.
    """
    if format not in _RENDER_FORMATS:
        allowed = ", ".join(repr(name) for name in _RENDER_FORMATS)
        raise ValueError(f"unknown render format {format!r}; expected one of {allowed}")
    summaries = {
        name: line
        for name, text in (descriptions or {}).items()
        if name in deps and (line := _first_line(text))
    }
    routed = dict(routes or {})
    joins = {name: dict(branches) for name, branches in (parallels or {}).items() if name in deps}
    if format == "mermaid":
        return _mermaid(deps, summaries, routed, joins)
    if format == "dot":
        return _dot(pipeline, deps, summaries, routed, joins)
    return _ascii(pipeline, deps, summaries, routed, joins)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _branches(routed: Mapping[str, str]) -> dict[str, list[str]]:
    """Each router's branches, in definition order."""
    found: dict[str, list[str]] = {}
    for branch, router in routed.items():
        found.setdefault(router, []).append(branch)
    return found


Joins = Mapping[str, Mapping[str, str]]


def _ascii(
    pipeline: str, deps: Deps, summaries: Mapping[str, str], routed: Mapping[str, str], joins: Joins
) -> str:
    routers = _branches(routed)
    layers = levels(deps)
    if not layers:
        return f"pipeline {pipeline!r}: no assets"
    lines = [f"pipeline {pipeline!r}: {len(deps)} assets in {len(layers)} levels"]
    for number, layer in enumerate(layers):
        lines.append(f"level {number}")
        for name in layer:
            line = f"  {name}"
            if deps[name]:
                line += " <- " + ", ".join(dict.fromkeys(deps[name]))
            if name in routers:
                line += f"  [router: {' | '.join(routers[name])}]"
            if name in routed:
                line += f"  [branch of {routed[name]}]"
            if name in joins:
                line += "  [parallel: " + " | ".join(f"{b}={f}" for b, f in joins[name].items()) + "]"
            if name in summaries:
                line += f"  # {summaries[name]}"
            lines.append(line)
    return "\n".join(lines)


_MERMAID_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _mermaid(deps: Deps, summaries: Mapping[str, str], routed: Mapping[str, str], joins: Joins) -> str:
    # Plain identifiers are used as node ids so edges read "orders --> report". Mermaid
    # treats "end" as a keyword and chokes on punctuation, so such names get a generated
    # id and keep their name as the label.
    ids = {
        name: name if _MERMAID_ID.fullmatch(name) and name.lower() != "end" else f"asset_{i}"
        for i, name in enumerate(deps)
    }
    routers = set(routed.values())
    lines = ["graph TD"]
    for name in deps:
        label = name + (f": {summaries[name]}" if name in summaries else "")
        if name in routers:  # a decision: a rhombus
            escaped = label.replace('"', "#quot;")
            lines.append(f'    {ids[name]}{{"{escaped}"}}')
        elif name in joins:  # a join: a subroutine box
            escaped = label.replace('"', "#quot;")
            lines.append(f'    {ids[name]}[["{escaped}"]]')
        elif label != ids[name]:
            escaped = label.replace('"', "#quot;")
            lines.append(f'    {ids[name]}["{escaped}"]')
        else:
            lines.append(f"    {ids[name]}")
    for name, needs in deps.items():
        for dep in dict.fromkeys(needs):
            if routed.get(name) == dep:
                lines.append(f"    {ids[dep]} -.->|{name}| {ids[name]}")
            else:
                lines.append(f"    {ids[dep]} --> {ids[name]}")
    for name, branches in joins.items():
        for branch, final in branches.items():
            if final in ids:
                lines.append(f"    {ids[final]} ==>|{branch}| {ids[name]}")
    return "\n".join(lines)


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _dot(
    pipeline: str, deps: Deps, summaries: Mapping[str, str], routed: Mapping[str, str], joins: Joins
) -> str:
    routers = set(routed.values())
    lines = [f"digraph {_dot_quote(pipeline)} {{"]
    for name in deps:
        attributes = []
        if name in summaries:
            label = _dot_quote(name + "\n" + summaries[name])
            attributes.append(f"label={label}")
        if name in routers:
            attributes.append("shape=diamond")
        if name in joins:
            attributes.append("peripheries=2")
        shown = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"    {_dot_quote(name)}{shown};")
    for name, needs in deps.items():
        for dep in dict.fromkeys(needs):
            edge = f"    {_dot_quote(dep)} -> {_dot_quote(name)}"
            if routed.get(name) == dep:
                edge += f" [style=dashed, label={_dot_quote(name)}]"
            lines.append(edge + ";")
    for name, branches in joins.items():
        for branch, final in branches.items():
            if final in deps:
                lines.append(
                    f"    {_dot_quote(final)} -> {_dot_quote(name)} [style=bold, label={_dot_quote(branch)}];"
                )
    lines.append("}")
    return "\n".join(lines)
