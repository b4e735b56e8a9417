"""The root of ``flowstone.errors`` and the base of errors about one (asset, partition).

Kept apart so that ``_wait_errors`` can build on them without importing ``errors``
(which re-exports both). Each class says it lives in ``flowstone.errors``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FlowStoneError", "OptionError", "_AssetPartitionError"]


class FlowStoneError(Exception):
    """The root of every error FlowStone raises on purpose."""


class OptionError(FlowStoneError, ValueError, TypeError):
    """An option or argument has a bad value or type: the message names it and says what
    it takes. It is a ``ValueError`` and a ``TypeError`` too, so code written against
    the built-in errors keeps working."""


class _AssetPartitionError(FlowStoneError):
    """Base for errors about one (asset, partition)."""

    def __init__(
        self,
        message: str,
        *,
        asset: str,
        partition: Any = None,
        run_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.asset = asset
        self.partition = partition
        self.run_id = run_id


for _cls in (FlowStoneError, OptionError, _AssetPartitionError):
    _cls.__module__ = "flowstone.errors"
