"""Pipeline references: how a job names its pipeline so that any worker can import it."""

from __future__ import annotations

import importlib
import sys

from flowstone._pipeline import Pipeline
from flowstone.errors import FlowStoneError

__all__ = ["reference_of", "resolve_reference"]


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


def resolve_reference(reference: str) -> Pipeline:
    """Import the pipeline named by ``reference``; ``FlowStoneError`` naming the path if not."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise FlowStoneError(f"bad pipeline reference {reference!r}; expected 'package.module:attribute'")
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
