"""The stdlib level of each logger method name (``log.info`` → ``logging.INFO``), shared by
the lazy logger (``_log.py``) and the stdlib routing (``_stdlib_log.py``)."""

from __future__ import annotations

import logging
from typing import Final

__all__ = ["LEVELS"]

LEVELS: Final = {
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
