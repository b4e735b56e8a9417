"""Route the runtime's structlog events to the standard ``logging`` module by default.

An unconfigured structlog prints with its ``PrintLogger`` to **stdout**, whatever the
host's logging set-up says. A library must not do that: its events belong to the host's
``logging`` configuration (level, format, destination). So, unless the host configured
structlog itself (then it keeps getting structlog events, through its own pipeline), each
logger named ``flowstone.*`` / ``supervisors.*`` is a structlog bound logger wrapping the
stdlib logger of the same name.

Cost: the wrapper asks ``logging.Logger.isEnabledFor`` (cached by the logging module)
*before* any processor runs, so an event below the host's level is never built into an
event dict, rendered or handed to a handler. Bound loggers are made once per name and
``bind`` only copies the context.

Structured fields are kept: the record's message is ``event key=value ...`` (readable by
a plain ``logging.basicConfig``) and every field is also a record attribute (``extra``),
so a JSON formatter sees ``run_id``, ``asset``, ``partition`` as their own keys; names
that clash with ``LogRecord``'s own attributes get a ``field_`` prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

__all__ = ["RESERVED_ATTRIBUTES", "StdlibBoundLogger", "build_logger", "to_stdlib"]

#: Attributes every ``LogRecord`` has; a field of that name would make ``makeRecord`` fail.
RESERVED_ATTRIBUTES: Final = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", None, None).__dict__, "message", "asctime", "taskName"}
)

_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "msg": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


def _render(event_dict: Mapping[str, Any]) -> str:
    event = str(event_dict.get("event", ""))
    # as structlog's console renderer: text bare, everything else as its repr
    fields = " ".join(
        f"{key}={value if isinstance(value, str) else repr(value)}"
        for key, value in event_dict.items()
        if key != "event"
    )
    return f"{event} {fields}" if fields else event


def to_stdlib(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The last processor: positional and keyword arguments for ``logging.Logger.<method>``."""
    exc_info = event_dict.pop("exc_info", method_name == "exception")
    extra = {
        (f"field_{key}" if key in RESERVED_ATTRIBUTES else key): value for key, value in event_dict.items()
    }
    extra["flowstone_fields"] = tuple(extra)
    return (_render(event_dict),), {"extra": extra, "exc_info": exc_info or None}


def _make_method(name: str, level: int) -> Any:
    def method(self: StdlibBoundLogger, event: str | None = None, *args: Any, **kw: Any) -> Any:
        if not self._logger.isEnabledFor(level):
            return None  # below the host's level: nothing is built
        if args:
            event = str(event) % args
        return self._proxy_to_logger(name, event, **kw)

    method.__name__ = name
    return method


def _base() -> type[Any]:
    import structlog  # noqa: PLC0415 - deferred with the rest of structlog, see supervisors._log

    return structlog.BoundLoggerBase


class _Methods:
    """Level methods that check the stdlib logger's level before running any processor."""

    _logger: logging.Logger
    _proxy_to_logger: Any  # structlog.BoundLoggerBase's, which comes after this class


for _name, _level in _LEVELS.items():
    setattr(_Methods, _name, _make_method(_name if _name not in ("msg", "fatal") else "info", _level))


def _log(self: _Methods, level: int, event: str | None = None, *args: Any, **kw: Any) -> Any:
    if not self._logger.isEnabledFor(level):
        return None
    if args:
        event = str(event) % args
    return self._proxy_to_logger(logging.getLevelName(level).lower(), event, **kw)


_Methods.log = _log  # type: ignore[attr-defined]

_wrapper: type[Any] | None = None


def _wrapper_class() -> type[Any]:
    global _wrapper  # one class, made on first use (structlog is imported late)
    if _wrapper is None:
        _wrapper = type("StdlibBoundLogger", (_Methods, _base()), {})
    return _wrapper


StdlibBoundLogger = _Methods  # the type to annotate with; instances come from build_logger


def build_logger(name: str) -> Any:
    """The logger for ``name``: the host's structlog if it configured one, else stdlib."""
    import structlog  # noqa: PLC0415

    if structlog.is_configured():
        return structlog.get_logger(name)
    return structlog.wrap_logger(
        logging.getLogger(name),
        wrapper_class=_wrapper_class(),
        processors=[to_stdlib],
        context_class=dict,
    )
