"""The two hooks the runner knows: ``Suspension`` (a value that suspends its asset) and
``Resumption`` (what runs in the asset's place when it resumes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from flowstone._asset import AssetDef
    from flowstone._context import Context
    from flowstone._waits.runtime import Waits

__all__ = ["Resumption", "Suspension"]


class Suspension(ABC):
    """A value an asset returns to wait durably instead of finishing.

    The runner's user-code boundary calls ``persist`` once: it writes (or finds) the wait
    and returns its id; the runner then marks the materialization ``waiting``, arms the
    wait with what resumes the run, and frees the runner. Nothing else is held.
    """

    __slots__ = ()

    @abstractmethod
    def persist(self, ctx: Context, waits: Waits) -> str:
        """Write the wait of the materialization ``ctx`` describes; its id."""


class Resumption(ABC):
    """What runs in a waiting asset's place once its wait is resolved.

    ``call`` returns the asset's value (or another ``Suspension``), or raises: a
    ``WaitEndedError`` fails the materialization for good (never retried), and its
    downstream assets do not run.
    """

    __slots__ = ()

    #: Whether the wait is resolved by work its run started (a join's branches, a
    #: scatter's keys), not by somebody: a backfill then waits for its run to end.
    ends_by_itself: ClassVar[bool] = False

    def ends(self, partition: Any) -> BaseException | None:
        """The error that ends the asset without calling user code, if the wait ended so
        (a node that cannot import the pipeline may then end it); None otherwise."""
        return None

    @abstractmethod
    def call(self, asset: AssetDef, ctx: Context, kwargs: Mapping[str, Any]) -> Any:
        """The asset's value, from its function (``asset.fn``) called or not, with ``ctx``/``kwargs``."""
