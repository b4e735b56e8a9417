"""What a parallel asset is configured with (``fs.Branch``) and what its join is handed
(``fs.BranchResult``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from flowstone.errors import OptionError

PARALLEL_LABEL = "parallel"  # the AssetKind label of @pipeline.parallel; jobs and join check it

__all__ = ["Branch", "BranchResult", "FailureMode", "ParallelOptions"]

FailureMode: TypeAlias = Literal["all", "partial"]
FAILURE_MODES: tuple[str, ...] = ("all", "partial")


def _check_timeout(what: str, timeout: object) -> None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise OptionError(f"{what} must be a number of seconds > 0 or None, got {timeout!r}")


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch of ``@pipeline.parallel``: the sub-graph that ends at asset ``final``.

    Attributes:
        final: the asset whose value is the branch's value (it and what it needs run).
        required: with ``failure_mode="partial"``, the join waits for required branches
            only, and a failed required branch fails the parallel asset.
        timeout: seconds the branch may run; past it, it counts as failed with a
            ``fs.ParallelTimeoutError``.
    """

    final: str
    required: bool = True
    timeout: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.final, str) or not self.final.isidentifier():
            raise OptionError(f"fs.Branch needs the name of its final asset, got {self.final!r}")
        if not isinstance(self.required, bool):
            raise OptionError(f"fs.Branch(required=...) must be True or False, got {self.required!r}")
        _check_timeout("fs.Branch(timeout=...)", self.timeout)


@dataclass(frozen=True, slots=True)
class BranchResult:
    """How one branch ended, as the join sees it.

    Attributes:
        ok: the branch's final asset completed; ``value`` is its value.
        value: the final asset's value (None unless ``ok``).
        error: why it did not succeed (``"TypeName: message"``), None if it did.
        skipped: the branch did not contribute: its final asset was skipped by a router,
            or (``failure_mode="partial"``) it was still running when the join ran.
    """

    ok: bool
    value: Any = None
    error: str | None = None
    skipped: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelOptions:
    """What ``@pipeline.parallel(...)`` takes besides the asset options.

    Attributes:
        branches: branch name → final asset name, or ``fs.Branch``; a sequence of
            (name, final) pairs is accepted too (a name given twice is an error).
        failure_mode: ``"all"`` (the default): the join runs when every branch has ended,
            and any failed branch fails the parallel asset at once; ``"partial"``: the
            join runs when every *required* branch has ended, optional ones still running
            are left out (``BranchResult.skipped``).
        timeout: seconds the whole group may take; past it, every branch still running
            counts as failed with a ``fs.ParallelTimeoutError``.
    """

    branches: Mapping[str, Branch] = field(default_factory=dict)
    failure_mode: FailureMode = "all"
    timeout: float | None = None
    #: Branch names given more than once (pairs): a ``DefinitionError`` at validation.
    duplicates: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        branches, duplicates = _normalize(self.branches)
        object.__setattr__(self, "branches", branches)
        object.__setattr__(self, "duplicates", duplicates)
        if self.failure_mode not in FAILURE_MODES:
            raise OptionError(f"failure_mode must be one of {FAILURE_MODES}, got {self.failure_mode!r}")
        _check_timeout("@pipeline.parallel(timeout=...)", self.timeout)

    def deadlines(self, started: float) -> dict[str, float | None]:
        """Each branch's deadline (epoch seconds), from its own timeout and the group's."""
        group = None if self.timeout is None else started + self.timeout
        found: dict[str, float | None] = {}
        for name, branch in self.branches.items():
            own = None if branch.timeout is None else started + branch.timeout
            found[name] = own if group is None else group if own is None else min(own, group)
        return found


def _normalize(branches: object) -> tuple[dict[str, Branch], tuple[str, ...]]:
    if isinstance(branches, Mapping):
        pairs: Iterable[Any] = branches.items()
    elif isinstance(branches, Iterable) and not isinstance(branches, str | bytes):
        pairs = list(branches)
        if not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
            raise OptionError(f"branches must map names to final assets, got {branches!r}")
    else:
        raise OptionError(f"branches must map names to final assets, got {branches!r}")
    found: dict[str, Branch] = {}
    duplicates: list[str] = []
    for name, final in pairs:
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 100:
            raise OptionError(f"a branch name must be an identifier of at most 100 characters, got {name!r}")
        if name in found:
            duplicates.append(name)
            continue
        found[name] = final if isinstance(final, Branch) else Branch(final)
    if not found:
        raise OptionError("@pipeline.parallel needs at least one branch: branches={'name': 'final_asset'}")
    return found, tuple(duplicates)
