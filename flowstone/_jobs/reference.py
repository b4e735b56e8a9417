"""Pipeline references: how a job names its pipeline so that any worker can import it,
and which modules a worker may import for one.

Importing a module runs its code, and a job row is data anyone with write access to the
jobs table can shape: a worker given an allow-list (``flowstone worker`` always is)
refuses, before importing anything, a reference to a module outside it.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
import sys
from collections.abc import Iterable, Sequence

from flowstone._pipeline import Pipeline
from flowstone.errors import FlowStoneError

__all__ = ["allowed_for_imports", "check_patterns", "import_allowed", "reference_of", "resolve_reference"]

# Dotted module names whose parts may hold glob characters (``reports_*``, ``*``).
_PATTERN = re.compile(r"[\w*?\[\]!-]+(\.[\w*?\[\]!-]+)*")


def check_patterns(patterns: Iterable[str], what: str) -> tuple[str, ...]:
    """``patterns`` as a tuple; ``ValueError`` naming ``what`` and the first malformed one."""
    checked = tuple(patterns)
    for pattern in checked:
        if not isinstance(pattern, str) or not _PATTERN.fullmatch(pattern):
            raise ValueError(
                f"{what}: {pattern!r} is not a module pattern; give a dotted module name such as "
                f"'mypipes' or 'mypipes.shop', optionally with * wildcards ('reports_*', '*' for any)"
            )
    return checked


def import_allowed(module: str, patterns: Sequence[str]) -> bool:
    """Whether ``module`` matches a pattern: the pattern names it, or a package above it
    (``mypipes`` allows ``mypipes.shop``); ``*`` and ``?`` are wildcards."""
    return any(
        fnmatch.fnmatchcase(module, pattern) or fnmatch.fnmatchcase(module, f"{pattern}.*")
        for pattern in patterns
    )


def allowed_for_imports(imports: Iterable[str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The allow-list of a worker that imported ``imports``: each module's package (the
    module itself if it is top-level), so that the pipelines beside it may be run too,
    then the ``extra`` patterns; duplicates dropped."""
    packages = [module.rpartition(".")[0] or module for module in imports]
    patterns = check_patterns([*packages, *extra], "--allow-import")
    return tuple(dict.fromkeys(patterns))


def reference_of(pipeline: Pipeline) -> str:
    """``"package.module:attribute"`` for ``pipeline``; refuses one a worker cannot import."""
    if pipeline.reference is not None:
        resolved = resolve_reference(pipeline.reference)
        if resolved.name != pipeline.name:
            raise FlowStoneError(
                f"pipeline {pipeline.name!r}: reference {pipeline.reference!r} imports pipeline "
                f"{resolved.name!r}; fix the reference"
            )
        return pipeline.reference
    module_name = pipeline._module
    why = (
        "workers import pipelines by 'package.module:attribute'; define it at module level in an "
        "importable module, or pass Pipeline(..., reference='package.module:attribute')"
    )
    if module_name is None or module_name == "__main__":
        raise FlowStoneError(
            f"pipeline {pipeline.name!r} was defined in a script (__main__), which a worker cannot "
            f"import; {why}"
        )
    module = sys.modules.get(module_name)
    for attribute, value in vars(module).items() if module is not None else ():
        if value is pipeline:
            return f"{module_name}:{attribute}"
    raise FlowStoneError(
        f"pipeline {pipeline.name!r} is not a module-level attribute of {module_name!r} "
        f"(was it defined inside a function?); {why}"
    )


def resolve_reference(reference: str, allowed: Sequence[str] | None = None) -> Pipeline:
    """Import the pipeline named by ``reference``; ``FlowStoneError`` naming the path if not.

    With ``allowed`` (module patterns, see ``import_allowed``), a module outside it is
    refused before it is imported.
    """
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise FlowStoneError(f"bad pipeline reference {reference!r}; expected 'package.module:attribute'")
    if allowed is not None and not import_allowed(module_name, allowed):
        raise FlowStoneError(
            f"pipeline reference {reference!r} names module {module_name!r}, which this worker may "
            f"not import (allowed: {', '.join(allowed) or 'no module'}); if the pipeline is yours, start "
            f"the worker with --import {module_name} or --allow-import {module_name} "
            f"(fs.start(allow_imports=...) in code)"
        )
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # sys.exit() at import ends its job, never the worker
        raise FlowStoneError(
            f"cannot import pipeline {reference!r}: importing {module_name!r} failed with "
            f"{type(exc).__name__}: {exc}; make the module importable on the worker (PYTHONPATH, --import)"
        ) from exc
    value = getattr(module, attribute, None)
    if not isinstance(value, Pipeline):
        raise FlowStoneError(
            f"cannot import pipeline {reference!r}: {module_name!r} has no Pipeline named {attribute!r}"
        )
    return value
