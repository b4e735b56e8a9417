"""``fs.Slots``: at most ``n`` materializations holding a key at once.

Option data only, validated when the asset is defined (``DefinitionError`` naming the
option and the fix); ``flowstone/_admission/gate.py`` enforces it at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowstone.errors import DefinitionError

__all__ = ["Slots", "check_shared_keys"]


# Not kw_only: the contract writes ``fs.Slots("warehouse", 4)``, both positional.
@dataclass(frozen=True, slots=True)
class Slots:
    """At most ``n`` materializations holding ``key`` at once, across every process on the
    database (in-process on a memory node): ``@p.asset(concurrency=fs.Slots("warehouse", 4))``.

    A slot is a lease in the store, renewed with the node's heartbeat: a holder that
    crashed frees its slot within the node's ``rescue_after``.

    Attributes:
        key: what the slots are shared by (assets naming the same key share them).
        n: how many materializations may hold the key at once.
    """

    key: str
    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key or len(self.key) > 200:
            raise DefinitionError(
                f"fs.Slots: key must be a non-empty string of at most 200 characters, got {self.key!r}"
            )
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n <= 0:
            raise DefinitionError(f"fs.Slots: n must be an int > 0 (how many at once), got {self.n!r}")


def check_shared_keys(pipeline: str, assets: Mapping[str, Any]) -> None:
    """``DefinitionError`` when two assets of a pipeline name one key with different bounds.

    Assets naming the same ``fs.Slots`` key (or ``fs.Rate`` key) share it, so
    ``Slots("wh", 1)`` on one and ``Slots("wh", 4)`` on another has no single meaning:
    each would enforce its own bound against the other's holders. Caught when the
    pipeline is validated; assets of different pipelines or processes cannot be compared.
    """
    seen: dict[tuple[str, str], tuple[str, Any]] = {}
    for name, asset in assets.items():
        options = asset.options
        found: list[tuple[str, str, Any]] = []
        slots = getattr(options, "concurrency", None)
        if slots is not None:
            found.append(("fs.Slots", slots.key, slots.n))
        rate = getattr(options, "rate", None)
        if rate is not None and rate.key is not None:
            found.append(("fs.Rate", rate.key, (rate.limit, float(rate.per))))
        for kind, key, bound in found:
            first = seen.setdefault((kind, key), (name, bound))
            if first[1] != bound:
                raise DefinitionError(
                    f"pipeline {pipeline!r}: assets {first[0]!r} and {name!r} name the {kind} key "
                    f"{key!r} with different bounds ({first[1]!r} and {bound!r}); assets sharing "
                    "a key must give it the same bound, or use different keys"
                )
