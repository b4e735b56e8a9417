"""Fixtures for the supervisor tests; puts ``supervision_support`` (next to this file) on
``sys.path`` so the test modules can import it under ``--import-mode=importlib``."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supervisors.testing import ManualClock

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from supervision_support import Harness  # noqa: E402 - importable only once HERE is on sys.path


@pytest.fixture
def harness() -> Iterator[Harness]:
    """A Harness whose supervisors (and gates) are stopped (released) after the test."""
    h = Harness()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def stop_later() -> Iterator[list[Any]]:
    """Supervisors, actors and events a test started; stopped (events set) at the end."""
    things: list[Any] = []
    yield things
    for thing in things:
        if isinstance(thing, threading.Event):
            thing.set()
    for thing in reversed(things):
        if not isinstance(thing, threading.Event):
            thing.stop()
