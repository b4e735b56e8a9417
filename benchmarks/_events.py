"""Library events switched on for the supervision benchmarks: formatted by a stdlib
handler into a null stream, and counted, so a figure measures events that are really on."""

from __future__ import annotations

import logging


class NullStream:
    """A text stream that drops what is written (a handler's output, without the I/O)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""


def events_on(level: int = logging.INFO) -> logging.Handler:
    """Events of the library at ``level``, each formatted by a stdlib handler into a null stream."""
    handler = logging.StreamHandler(NullStream())
    handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    logger = logging.getLogger("supervisors")
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler


class Counter(logging.Handler):
    """Counts the records that reach the handlers (checks that events are on)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
