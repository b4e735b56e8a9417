"""Building option dataclasses from keyword arguments with helpful errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from flowstone.errors import OptionError

__all__ = ["build_options"]

T = TypeVar("T")


def build_options(cls: type[T], options: Mapping[str, Any], what: str) -> T:
    """``cls(**options)``, but an unknown name raises a ``TypeError`` listing the valid ones.

    The valid names come from the dataclass itself, so they cannot drift from it.
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise OptionError(
            f"unknown {what} option(s) {', '.join(map(repr, unknown))}; valid options are {', '.join(names)}"
        )
    return cls(**options)
