"""Checks of option values: each raises ``TypeError`` (wrong kind) or ``ValueError`` (wrong
value) naming the option and the value, so that a bad option fails ``fs.start`` at once
instead of every run later, or inside the supervision tree."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from flowstone.errors import OptionError

__all__ = [
    "check_bool",
    "check_int",
    "check_methods",
    "check_names",
    "check_seconds",
    "check_text",
]


def check_text(name: str, value: object) -> None:
    """A non-empty ``str``."""
    if not isinstance(value, str):
        raise OptionError(f"{name} must be a str, got {value!r}")
    if not value:
        raise OptionError(f"{name} must not be empty")


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise OptionError(f"{name} must be True or False, got {value!r}")


def check_int(name: str, value: object, minimum: int) -> None:
    """An ``int`` (not a bool) ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be an int ≥ {minimum}, got {value!r}")
    if value < minimum:
        raise OptionError(f"{name} must be an int ≥ {minimum}, got {value!r}")


def check_seconds(name: str, value: object) -> None:
    """A finite number of seconds > 0: infinity would never fire, and cannot be waited for."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionError(f"{name} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise OptionError(f"{name} must be a finite number of seconds > 0, got {value!r}")


def check_names(name: str, value: object) -> Mapping[Any, Any]:
    """A mapping whose keys are non-empty ``str``; returns it."""
    if not isinstance(value, Mapping):
        raise OptionError(f"{name} must be a mapping of names, got {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise OptionError(f"{name} must be keyed by str names, got the key {key!r}")
        if not key:
            raise OptionError(f"{name} must not have an empty name")
    return value


def check_methods(name: str, value: object, methods: Iterable[str], what: str) -> None:
    """``None``, or an object with every one of ``methods`` callable."""
    if value is None:
        return
    missing = [method for method in methods if not callable(getattr(value, method, None))]
    if missing:
        raise OptionError(f"{name} must be {what}; {value!r} has no {', '.join(missing)}")
