"""Defining a parallel asset (``@pipeline.parallel``) and checking it at validation."""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from flowstone._parallel.options import PARALLEL_LABEL
from flowstone.errors import DefinitionError

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._parallel.kind import Parallel

__all__ = ["BRANCHES", "check_parallel", "join_function"]

#: The join's parameter that receives the branches' results; not a dependency.
BRANCHES = "branches"


def join_function(pipeline: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as an asset function: the same, without its ``branches`` parameter in the
    signature that dependencies are read from (it is given the results, not a value)."""
    name = getattr(fn, "__name__", repr(fn))
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(
            f"pipeline {pipeline!r}, asset {name!r}: cannot read its signature: {exc}"
        ) from exc
    parameters = list(signature.parameters.values())
    takes = any(p.name == BRANCHES for p in parameters[1:]) or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
    )
    if not takes:
        raise DefinitionError(
            f"pipeline {pipeline!r}, parallel asset {name!r}: the join must take the branches' "
            f"results: def {name}(ctx, branches, **deps): ..."
        )

    @functools.wraps(fn)
    def join(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    join.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in parameters if p.name != BRANCHES]
    )
    return join


def check_parallel(
    pipeline: str, assets: Mapping[str, AssetDef], deps: Mapping[str, tuple[str, ...]]
) -> None:
    """Raise ``DefinitionError`` unless every branch has its own name, and its final asset
    exists and does not depend on its parallel asset (a branch cannot need what it joins into)."""
    for name, asset in assets.items():
        if asset.kind.label != PARALLEL_LABEL:  # not isinstance: kind.py loads on first use
            continue
        where = f"pipeline {pipeline!r}, parallel asset {name!r}"
        options = cast("Parallel", asset.kind).options
        for duplicate in options.duplicates:
            raise DefinitionError(
                f"{where}: branch name {duplicate!r} is given twice; give each branch its own name"
            )
        for branch, spec in options.branches.items():
            final = spec.final
            if final not in assets:
                close = difflib.get_close_matches(final, assets, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else "; define it with @pipeline.asset"
                raise DefinitionError(
                    f"{where}: branch {branch!r} ends at {final!r}, which is not an asset{hint}"
                )
            if final == name or name in _upstream(deps, final):
                raise DefinitionError(
                    f"{where}: branch {branch!r} ends at {final!r}, which depends on {name!r} itself; "
                    "a branch must not need the asset that joins it"
                )


def _upstream(deps: Mapping[str, tuple[str, ...]], name: str) -> set[str]:
    seen: set[str] = set()
    stack = list(deps.get(name, ()))
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.add(dep)
            stack.extend(deps.get(dep, ()))
    return seen
