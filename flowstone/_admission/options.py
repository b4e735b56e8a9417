"""``fs.Slots``: at most ``n`` materializations holding a key at once.

Option data only, validated when the asset is defined (``DefinitionError`` naming the
option and the fix); ``flowstone/_admission/gate.py`` enforces it at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowstone.errors import DefinitionError

__all__ = ["Slots"]


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
