"""Checking a pipeline's routers and routed assets when it is validated."""

from __future__ import annotations

from collections.abc import Mapping

from flowstone._asset import AssetDef
from flowstone._routing.router import Router
from flowstone.errors import DefinitionError

__all__ = ["check_routing"]


def check_routing(pipeline: str, assets: Mapping[str, AssetDef]) -> None:
    """Raise ``DefinitionError`` unless every ``routed_from`` names a router that lists the
    asset among its branches, and every branch is an asset routed from its router.

    Cycles through routers (a router that needs one of its own branches) are cycles of
    the graph, where ``routed_from`` is an edge: ``check_graph`` reports them.
    """
    for name, asset in assets.items():
        router_name = asset.options.routed_from
        if router_name is None:
            continue
        where = f"pipeline {pipeline!r}, asset {name!r}"
        router = assets.get(router_name)
        if router is None:
            raise DefinitionError(
                f"{where}: routed_from={router_name!r} names no asset; define the router with "
                f"@pipeline.router(branches=(...)) or fix the name"
            )
        if not isinstance(router.kind, Router):
            raise DefinitionError(
                f"{where}: routed_from={router_name!r} is not a router; define it with "
                f"@pipeline.router(branches=({name!r}, ...))"
            )
        if name not in router.kind.options.branches:
            raise DefinitionError(
                f"{where}: it is routed from {router_name!r}, whose branches "
                f"{router.kind.options.branches!r} do not include it; add it to the router's branches"
            )
    for name, asset in assets.items():
        if not isinstance(asset.kind, Router):
            continue
        for branch in asset.kind.options.branches:
            found = assets.get(branch)
            where = f"pipeline {pipeline!r}, router {name!r}"
            if found is None:
                raise DefinitionError(
                    f"{where}: branch {branch!r} is not an asset; define it with "
                    f"@pipeline.asset(routed_from={name!r})"
                )
            if found.options.routed_from != name:
                raise DefinitionError(
                    f"{where}: branch {branch!r} is not routed from it; define it with "
                    f"@pipeline.asset(routed_from={name!r})"
                )
