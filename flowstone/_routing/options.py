"""What a router is configured with, and the values routing hands out (``fs.SKIPPED``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from flowstone._asset import check_name
from flowstone.errors import OptionError

__all__ = ["SKIPPED", "Fallback", "RouterOptions", "Skipped"]


class Skipped:
    """The type of ``fs.SKIPPED``: what ``node.run`` returns for an asset that did not run
    because a router did not select it (or a dependency it needs was skipped)."""

    __slots__ = ()
    _instance: Skipped | None = None

    def __new__(cls) -> Skipped:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "fs.SKIPPED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "SKIPPED"


SKIPPED: Final = Skipped()
"""Returned by ``node.run`` for a skipped asset; never stored."""


@dataclass(frozen=True, slots=True)
class Fallback:
    """``on_error=fs.Fallback("slow")``: when the router raises, take branch ``branch``
    (recorded as a fallback, with the error) instead of failing."""

    branch: str

    def __post_init__(self) -> None:
        if not isinstance(self.branch, str) or not self.branch:
            raise OptionError(f"fs.Fallback needs a branch name, got {self.branch!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RouterOptions:
    """What ``@pipeline.router(...)`` takes besides the asset options.

    Attributes:
        branches: the names of the assets it may select; each is defined with
            ``routed_from=`` this router.
        default: the branch taken when the router returns None; None (the default): no
            branch runs then, every branch is skipped.
        on_error: ``"fail"`` (the router's exception fails it, as any asset's does) or
            ``fs.Fallback(branch)``.
    """

    branches: tuple[str, ...]
    default: str | None = None
    on_error: Literal["fail"] | Fallback = "fail"

    def __post_init__(self) -> None:
        branches: Any = self.branches
        if isinstance(branches, str) or not isinstance(branches, Iterable):
            raise OptionError(f"branches must be a sequence of asset names, got {branches!r}")
        names = tuple(branches)
        if not names:
            raise OptionError("a router needs at least one branch")
        for name in names:
            if not isinstance(name, str) or not name.isidentifier():
                raise OptionError(f"a branch is the name of an asset, got {name!r}")
            check_name("branch", name)
        if len(set(names)) != len(names):
            raise OptionError(f"branches lists a branch twice: {names!r}")
        object.__setattr__(self, "branches", names)
        if self.default is not None and self.default not in names:
            raise OptionError(f"default {self.default!r} is not one of the branches {names!r}")
        if self.on_error != "fail" and not isinstance(self.on_error, Fallback):
            raise OptionError(f"on_error must be 'fail' or fs.Fallback(branch), got {self.on_error!r}")
        if isinstance(self.on_error, Fallback) and self.on_error.branch not in names:
            raise OptionError(f"fs.Fallback({self.on_error.branch!r}) is not one of the branches {names!r}")
