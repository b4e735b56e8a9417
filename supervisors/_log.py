"""Loggers for the runtime: structlog, imported on first use, and never fatal.

Events go to the stdlib logger of the same name unless the host configured structlog
(see ``supervisors._stdlib_log``).

structlog (with the asyncio it pulls in) is a large share of import time; a library that
logs only on lifecycle events should not pay it at ``import``. The proxy behaves like
``structlog.get_logger(name)`` (configuration made before or after the first call applies),
except that an exception raised while logging — a closed pipe, a broken handler — is
swallowed: a log line must never stop a supervisor or lose a restart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

__all__ = ["get_logger"]

_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "msg", "log"})


class _SafeLogger:
    __slots__ = ("_logger", "_name")

    def __init__(self, name: str, logger: Any = None) -> None:
        self._name = name
        self._logger = logger

    def _target(self) -> Any:
        if self._logger is None:
            from supervisors._stdlib_log import build_logger  # noqa: PLC0415 - deferred, see above

            self._logger = build_logger(self._name)
        return self._logger

    def bind(self, **values: Any) -> _SafeLogger:
        return _SafeLogger(self._name, self._target().bind(**values))

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._target(), attribute)
        if attribute not in _METHODS:
            return value
        return _quiet(value)


def _quiet(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(Exception):
            return method(*args, **kwargs)
        return None

    return call


def get_logger(name: str) -> Any:
    """``structlog.get_logger(name)``, imported on first use, whose failures are harmless."""
    return _SafeLogger(name)
