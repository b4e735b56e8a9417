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

import logging
from collections.abc import Callable
from typing import Any

from supervisors._levels import LEVELS

__all__ = ["get_logger"]


class _SafeLogger:
    __slots__ = ("_level_of", "_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None
        #: For a stdlib target, its ``isEnabledFor``: the proxy asks the level itself, so
        #: an event below it costs one call (issue 22).
        self._level_of: Callable[[int], bool] | None = None

    def _target(self) -> Any:
        logger = self._logger
        if logger is None:
            from supervisors._stdlib_log import build_logger  # noqa: PLC0415 - deferred, see above

            self._wrap(build_logger(self._name))
            logger = self._logger
        return logger

    def _wrap(self, logger: Any) -> _SafeLogger:
        self._logger = logger
        stdlib = getattr(logger, "stdlib_logger", None)
        self._level_of = stdlib.isEnabledFor if isinstance(stdlib, logging.Logger) else None
        return self

    def bind(self, **values: Any) -> _SafeLogger:
        return _SafeLogger(self._name)._wrap(self._target().bind(**values))

    def new(self, **values: Any) -> _SafeLogger:
        return _SafeLogger(self._name)._wrap(self._target().new(**values))

    def log(self, level: int, event: str | None = None, *args: Any, **kw: Any) -> Any:
        try:  # as the level methods: the level asked first, no context manager per call
            logger = self._logger or self._target()
            level_of = self._level_of
            if level_of is not None and not level_of(level):
                return None
            return logger.log(level, event, *args, **kw)
        except Exception:  # noqa: BLE001 - a log line must never stop the runtime, see above
            return None

    def is_enabled_for(self, level: int) -> bool:
        """Whether an event at ``level`` would be delivered; True when it cannot tell."""
        try:
            logger = self._logger or self._target()
            level_of = self._level_of  # a stdlib target: its own check, one call
            if level_of is not None:
                return level_of(level)
            check = getattr(logger, "is_enabled_for", None)
            return True if check is None else bool(check(level))
        except Exception:  # noqa: BLE001 - see the module docstring
            return True

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._target(), attribute)


def _safe_method(name: str, level: int) -> Callable[..., Any]:
    def method(self: _SafeLogger, event: str | None = None, *args: Any, **kw: Any) -> Any:
        try:
            logger = self._logger or self._target()
            level_of = self._level_of
            if level_of is not None and not level_of(level):
                return None
            return getattr(logger, name)(event, *args, **kw)
        except Exception:  # noqa: BLE001 - a log line must never stop the runtime, see above
            return None

    method.__name__ = method.__qualname__ = name
    return method


for _name, _level in LEVELS.items():
    setattr(_SafeLogger, _name, _safe_method(_name, _level))


def get_logger(name: str) -> Any:
    """A logger for ``name``, resolved on its first event, whose failures are harmless."""
    return _SafeLogger(name)
