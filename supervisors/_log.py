"""A structlog logger that imports structlog only when it first logs.

structlog (with the asyncio it pulls in) is a large share of import time; a library that
logs only on lifecycle events should not pay it at ``import``. The returned proxy behaves
like ``structlog.get_logger(name)``, and configuration made before or after the first call
applies, as with structlog's own lazy proxy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_logger"]


class _LazyLogger:
    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attribute: str) -> Any:
        logger = self._logger
        if logger is None:
            import structlog  # noqa: PLC0415 - deferred on purpose, see the module docstring

            logger = self._logger = structlog.get_logger(self._name)
        return getattr(logger, attribute)


def get_logger(name: str) -> Any:
    """``structlog.get_logger(name)``, imported on first use."""
    return _LazyLogger(name)
