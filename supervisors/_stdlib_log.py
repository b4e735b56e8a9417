"""Route the runtime's events to the standard ``logging`` module by default.

An unconfigured structlog prints with its ``PrintLogger`` to **stdout**, whatever the
host's logging set-up says. A library must not do that: its events belong to the host's
``logging`` configuration (level, format, destination). So, unless the host configured
structlog itself (then it keeps getting structlog events, through its own pipeline), each
logger named ``flowstone.*`` / ``supervisors.*`` is a ``StdlibBoundLogger`` wrapping the
stdlib logger of the same name.

Cost (issue 22: events stay on and cheap). ``StdlibBoundLogger`` is not a structlog
bound logger: an event goes straight to one ``LogRecord``, with no processor chain and no
event-dict copies in between.

- The level is asked first (``Logger.isEnabledFor``, cached by the logging module): an
  event below the host's level builds nothing, no field dict, no record, no traceback.
- Rendering is deferred to the handler: the record's ``msg`` renders ``event key=value``
  only when a formatter calls ``getMessage()`` (once; the text is kept).
- No ``findCaller`` stack walk: the caller's frame is read directly (one or two
  ``f_back`` hops), and a stack is formatted only for ``stack_info=True``.
- ``bind`` copies the context once; bound loggers are built once per name or binding.

Structured fields are kept: the record's message is ``event key=value ...`` (readable by
a plain ``logging.basicConfig``) and every field is also a record attribute, so a JSON
formatter sees ``run_id``, ``asset``, ``partition`` as their own keys (their names are in
``record.flowstone_fields``); names that clash with ``LogRecord``'s own attributes get a
``field_`` prefix.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any, Final

from supervisors._levels import LEVELS

__all__ = ["RESERVED_ATTRIBUTES", "StdlibBoundLogger", "build_logger"]

#: Attributes every ``LogRecord`` has; a field of that name would make ``makeRecord`` fail.
RESERVED_ATTRIBUTES: Final = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", None, None).__dict__, "message", "asctime", "taskName"}
)


#: Files whose frames are skipped when the record names its caller.
_OWN_FILES: Final = frozenset({__file__, __file__.replace("_stdlib_log", "_log")})


class _Message:
    """A record's message: ``event key=value ...``, rendered when a handler first asks."""

    __slots__ = ("_event", "_fields", "_text")

    def __init__(self, event: str, fields: Mapping[str, Any]) -> None:
        self._event = event
        self._fields = fields
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = render(self._event, self._fields)
        return self._text

    def __repr__(self) -> str:
        return repr(str(self))


def render(event: str, fields: Mapping[str, Any]) -> str:
    """``event key=value ...``: as structlog's console renderer, text bare, the rest repr."""
    if not fields:
        return event
    shown = " ".join(
        f"{key}={value}" if isinstance(value, str) else f"{key}={value!r}" for key, value in fields.items()
    )
    return f"{event} {shown}"


def _caller() -> tuple[str, int, str]:
    frame = sys._getframe(3)  # _caller <- _emit <- the level method <- its caller
    while frame.f_back is not None and frame.f_code.co_filename in _OWN_FILES:
        frame = frame.f_back
    code = frame.f_code
    return code.co_filename, frame.f_lineno, code.co_name


class StdlibBoundLogger:
    """A bound logger writing straight to one stdlib ``logging.Logger``.

    Has structlog's bound-logger methods the library uses: the level methods (``debug``
    ... ``critical``, ``exception``, ``log``), ``bind``, ``new``, ``unbind`` and
    ``try_unbind``.
    """

    __slots__ = ("_context", "_logger")

    def __init__(self, logger: logging.Logger, context: Mapping[str, Any] | None = None) -> None:
        self._logger = logger
        self._context: dict[str, Any] = dict(context) if context else {}

    def __repr__(self) -> str:
        return f"<StdlibBoundLogger {self._logger.name!r} context={self._context!r}>"

    # --- context -----------------------------------------------------------------
    def bind(self, **values: Any) -> StdlibBoundLogger:
        return StdlibBoundLogger(self._logger, {**self._context, **values})

    def new(self, **values: Any) -> StdlibBoundLogger:
        return StdlibBoundLogger(self._logger, values)

    def unbind(self, *keys: str) -> StdlibBoundLogger:
        missing = [key for key in keys if key not in self._context]
        if missing:
            raise KeyError(missing[0])
        return self.try_unbind(*keys)

    def try_unbind(self, *keys: str) -> StdlibBoundLogger:
        return StdlibBoundLogger(self._logger, {k: v for k, v in self._context.items() if k not in keys})

    @property
    def stdlib_logger(self) -> logging.Logger:
        """The stdlib logger written to (the never-fatal proxy asks its level itself)."""
        return self._logger

    def is_enabled_for(self, level: int) -> bool:
        """Whether an event at ``level`` would reach a handler (the host's level)."""
        return self._logger.isEnabledFor(level)

    # --- events ------------------------------------------------------------------
    def log(self, level: int, event: str | None = None, *args: Any, **kw: Any) -> None:
        if self._logger.isEnabledFor(level):
            self._emit(level, event, args, kw, exc_default=False)

    def _emit(
        self, level: int, event: str | None, args: tuple[Any, ...], kw: dict[str, Any], *, exc_default: bool
    ) -> None:
        logger = self._logger
        exc_info: Any = exc_default
        stack = None
        if kw and ("exc_info" in kw or "stack_info" in kw):
            exc_info = kw.pop("exc_info", exc_default)
            if kw.pop("stack_info", False):
                stack = "Stack (most recent call last):\n" + "".join(traceback.format_stack(sys._getframe(2)))
        fields = {**self._context, **kw} if self._context else kw
        text = "" if event is None else event if type(event) is str else str(event)
        if args:
            text %= args
        if exc_info:
            if isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            elif not isinstance(exc_info, tuple):
                exc_info = sys.exc_info()
        else:
            exc_info = None
        path, line, function = _caller()
        record = logger.makeRecord(
            logger.name, level, path, line, _Message(text, fields), (), exc_info, function, None, stack
        )
        # makeRecord's ``extra``, without its per-key checks: clashing names are prefixed.
        if RESERVED_ATTRIBUTES.isdisjoint(fields):
            record.__dict__.update(fields)
            record.flowstone_fields = tuple(fields)
        else:
            extra = {
                (f"field_{key}" if key in RESERVED_ATTRIBUTES else key): value
                for key, value in fields.items()
            }
            record.__dict__.update(extra)
            record.flowstone_fields = tuple(extra)
        logger.handle(record)


def _level_method(level: int, *, exception: bool) -> Callable[..., None]:
    def method(self: StdlibBoundLogger, event: str | None = None, *args: Any, **kw: Any) -> None:
        if self._logger.isEnabledFor(level):
            self._emit(level, event, args, kw, exc_default=exception)

    return method


for _name, _level in LEVELS.items():
    _method = _level_method(_level, exception=_name == "exception")
    _method.__name__ = _method.__qualname__ = _name
    setattr(StdlibBoundLogger, _name, _method)


def build_logger(name: str) -> Any:
    """The logger for ``name``: the host's structlog if it configured one, else stdlib.

    structlog is not imported to find out: a host that never imported it cannot have
    configured it.
    """
    structlog = sys.modules.get("structlog")
    if structlog is not None and structlog.is_configured():
        return structlog.get_logger(name)
    return StdlibBoundLogger(logging.getLogger(name))
