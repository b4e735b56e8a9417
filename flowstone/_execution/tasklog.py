"""``TaskLog``: an attempt's logger, bound to its fields only when something is logged.

Every attempt had its own ``log.bind(run_id=..., asset=..., partition=..., attempt=...)``
and logged ``asset.attempt_started`` and ``asset.materialized``: with the library's default
routing to stdlib ``logging`` at the host's WARNING, that built a bound logger and two
calls per asset that were thrown away, about a tenth of an in-memory asset's engine time
(issue 22). Here the fields are kept as given; the bound logger is built on the first
event the host's level lets through (or the first other use, such as ``ctx.log.bind``),
and an event below the level costs a level check.

The check asks the stdlib logger behind the runtime's logger (``logging.Logger.isEnabledFor``,
cached by the logging module). When the host configured structlog itself, its wrapper
class's level decides if it is a filtering one (``make_filtering_bound_logger``); any other
wrapper is always handed the event. A job's and a run's loggers are ``TaskLog`` s too.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["TaskLog"]

_DEBUG, _INFO, _WARNING, _ERROR, _CRITICAL = (
    logging.DEBUG,
    logging.INFO,
    logging.WARNING,
    logging.ERROR,
    logging.CRITICAL,
)


def _enabled(base: Any, level: int) -> bool:
    """Whether ``base`` (a ``supervisors._log`` logger) would deliver an event at ``level``.

    A logger resolved to a stdlib target keeps that target's ``isEnabledFor`` (its
    ``_level_of``): one call. Asked twice per attempt, this used to import the target's
    class each time, which cost more than the rest of the check (issue 22).
    """
    try:
        base._target()  # resolves the logger, and with it its level check
        level_of = getattr(base, "_level_of", None)
        if level_of is not None:
            return bool(level_of(level))
    except Exception:  # noqa: BLE001 - an unknown logger: let it decide
        return True
    return _structlog_enabled(level)


def _structlog_enabled(level: int) -> bool:
    """The host's structlog: False only if its wrapper class filters ``level`` out (a
    ``make_filtering_bound_logger`` class drops such events before any processor).
    Asked of the configuration, not of the logger: a lazy proxy binds a new logger for
    every attribute read, which is what a ``TaskLog`` is there to spare (issue 22)."""
    structlog = sys.modules.get("structlog")
    wrapper = None if structlog is None else structlog.get_config().get("wrapper_class")
    effective = getattr(wrapper, "get_effective_level", None)
    if effective is None:
        return True  # another wrapper: its processors decide
    try:
        return bool(level >= effective(None))  # the method does not read its instance
    except Exception:  # noqa: BLE001 - an unexpected wrapper: let it decide
        return True


class TaskLog:
    """Like ``base.bind(**fields)``, built on first use; level methods check first."""

    __slots__ = ("_base", "_bound", "_fields")

    def __init__(self, base: Any, fields: dict[str, Any]) -> None:
        self._base = base
        self._fields = fields
        self._bound: Any = None

    def __repr__(self) -> str:
        return f"<TaskLog {self._fields!r}>"

    def _target(self) -> Any:
        bound = self._bound
        if bound is None:
            bound = self._bound = self._base.bind(**self._fields)
        return bound

    def _log(self, level: int, method: str, event: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        if self._bound is None and not _enabled(self._base, level):
            return None
        return getattr(self._target(), method)(event, *args, **kw)

    def enabled(self, level: int) -> bool:
        """Whether an event at ``level`` would be logged: to build its fields only then."""
        return self._bound is not None or _enabled(self._base, level)

    def debug(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._log(_DEBUG, "debug", event, args, kw)

    def info(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._log(_INFO, "info", event, args, kw)

    def warning(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._log(_WARNING, "warning", event, args, kw)

    def error(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._log(_ERROR, "error", event, args, kw)

    def exception(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._log(_ERROR, "exception", event, args, kw)

    def critical(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._log(_CRITICAL, "critical", event, args, kw)

    warn = warning
    msg = info

    def __getattr__(self, attribute: str) -> Any:  # bind, new, log, ...: the bound logger's own
        return getattr(self._target(), attribute)
