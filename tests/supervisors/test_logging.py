"""Logging is a side effect: a broken log sink never stops supervision."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from supervisors import Supervisor
from supervisors.testing import CrashWorker, wait_until_restarted


class BrokenSink:
    """A log sink whose every write fails, as a closed pipe does."""

    def _fail(self, *_args: Any, **_kwargs: Any) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    msg = debug = info = warning = error = critical = exception = _fail


@pytest.fixture
def broken_logging() -> Iterator[None]:
    saved = structlog.get_config()
    structlog.configure(
        logger_factory=lambda *_args: BrokenSink(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.mark.usefixtures("broken_logging")
def test_a_crashed_child_is_restarted_while_every_log_write_fails() -> None:
    sup = Supervisor.start([CrashWorker.spec("worker")], name="logging")
    try:
        old = sup.whereis("worker")
        CrashWorker.crash(old)
        new = wait_until_restarted(sup, "worker", previous=old)
        assert new.ask("ping") == "pong"
    finally:
        sup.stop(timeout=10)
    assert sup.exit_reason is not None
