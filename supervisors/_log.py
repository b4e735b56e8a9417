"""Loggers for the runtime: stdlib logging by default, never fatal, nothing built early.

Events go to the stdlib logger of the same name unless the host configured structlog
(see ``supervisors._stdlib_log``).

structlog (with the asyncio it pulls in) is a large share of import time; a library that
logs only on lifecycle events should not pay it at ``import``. The proxy resolves its
logger on the first event (so a host configures structlog or logging before that), and an
exception raised while logging — a closed pipe, a broken handler — is swallowed: a log
line must never stop a supervisor or lose a restart.

The proxy's level methods are plain methods (no closure built per call, no attribute
lookup through ``__getattr__``): issue 22 wants events that stay on to be cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

__all__ = ["get_logger"]

_METHODS = ("debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "msg")


class _SafeLogger:
    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def _target(self) -> Any:
        logger = self._logger
        if logger is None:
            from supervisors._stdlib_log import build_logger  # noqa: PLC0415 - deferred, see above

            logger = self._logger = build_logger(self._name)
        return logger

    def bind(self, **values: Any) -> _SafeLogger:
        bound = _SafeLogger(self._name)
        bound._logger = self._target().bind(**values)
        return bound

    def new(self, **values: Any) -> _SafeLogger:
        bound = _SafeLogger(self._name)
        bound._logger = self._target().new(**values)
        return bound

    def log(self, level: int, event: str | None = None, *args: Any, **kw: Any) -> Any:
        with contextlib.suppress(Exception):
            return self._target().log(level, event, *args, **kw)
        return None

    def is_enabled_for(self, level: int) -> bool:
        """Whether an event at ``level`` would be delivered; True when it cannot tell."""
        try:
            check = getattr(self._logger or self._target(), "is_enabled_for", None)
            return True if check is None else bool(check(level))
        except Exception:  # noqa: BLE001 - see the module docstring
            return True

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._target(), attribute)


def _safe_method(name: str) -> Callable[..., Any]:
    def method(self: _SafeLogger, event: str | None = None, *args: Any, **kw: Any) -> Any:
        try:
            return getattr(self._logger or self._target(), name)(event, *args, **kw)
        except Exception:  # noqa: BLE001 - a log line must never stop the runtime, see above
            return None

    method.__name__ = method.__qualname__ = name
    return method


for _name in _METHODS:
    setattr(_SafeLogger, _name, _safe_method(_name))


def get_logger(name: str) -> Any:
    """A logger for ``name``, resolved on its first event, whose failures are harmless."""
    return _SafeLogger(name)
