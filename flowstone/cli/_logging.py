"""Where the ``flowstone`` command's logs go: stderr, through stdlib ``logging``.

The command is the host here, so it configures ``logging`` (not structlog: the library's
events reach stdlib on their own, see ``supervisors._stdlib_log``). stdout stays for
results. ``--log-level`` / ``FLOWSTONE_LOG_LEVEL`` pick the level (default: quiet, so a
failure is one ``error:`` line; a worker logs warnings), ``--log-format console|json`` /
``FLOWSTONE_LOG_FORMAT`` the shape: one line per event, or one JSON object per line
with the event's fields as keys (for log shippers).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

__all__ = ["FORMATS", "LEVELS", "JsonFormatter", "install"]

LEVELS: Final = ("debug", "info", "warning", "error", "critical")
FORMATS: Final = ("console", "json")
_CONSOLE: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _Stderr(logging.StreamHandler[TextIO]):
    """A handler writing to whatever ``sys.stderr`` is now (click's test runner swaps it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, event and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {key: getattr(record, key) for key in getattr(record, "flowstone_fields", ())}
        shown: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": fields.pop("event", None) or record.getMessage(),
            **fields,
        }
        if record.exc_info:
            shown["exception"] = self.formatException(record.exc_info)
        return json.dumps(shown, default=str)


_installed: logging.Handler | None = None


def install(level: int, log_format: str) -> None:
    """Send records at ``level`` and above to stderr in ``log_format`` (replacing a previous call's)."""
    global _installed  # one handler per process, replaced when a command is run again in-process
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    handler = _Stderr()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_CONSOLE))
    root.addHandler(handler)
    root.setLevel(level)
    _installed = handler
