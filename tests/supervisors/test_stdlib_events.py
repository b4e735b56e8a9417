"""Events through stdlib ``logging`` stay on and cheap (issue 22).

The level is asked before anything is built; the message is rendered only when a handler
formats the record; the fields are record attributes; the record names the caller; a
broken handler never reaches the runtime.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from supervisors._log import get_logger
from supervisors._stdlib_log import StdlibBoundLogger, build_logger


class Records(logging.Handler):
    """Keeps the records it is handed, formatting none of them."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class CountingLogger(logging.Logger):
    """Counts the records made for it."""

    made = 0

    def makeRecord(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        self.made += 1
        return super().makeRecord(*args, **kwargs)


class Rendered:
    """A field that counts how often it is rendered."""

    def __init__(self) -> None:
        self.renders = 0

    def __repr__(self) -> str:
        self.renders += 1
        return "<rendered>"


@pytest.fixture
def records() -> Iterator[tuple[CountingLogger, Records]]:
    logger = CountingLogger("supervisors.test_stdlib_events", logging.INFO)
    handler = Records()
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


def test_an_event_below_the_level_builds_no_record(records: tuple[CountingLogger, Records]) -> None:
    logger, handler = records
    field = Rendered()
    StdlibBoundLogger(logger).debug("below.level", field=field)
    assert logger.made == 0
    assert handler.records == []
    assert field.renders == 0


def test_the_message_is_rendered_only_when_a_handler_asks_and_once(
    records: tuple[CountingLogger, Records],
) -> None:
    logger, handler = records
    field = Rendered()
    StdlibBoundLogger(logger).info("some.event", field=field, text="plain")
    (record,) = handler.records
    assert field.renders == 0
    assert record.getMessage() == "some.event field=<rendered> text=plain"
    assert record.getMessage() == "some.event field=<rendered> text=plain"
    assert field.renders == 1


def test_fields_are_record_attributes_and_clashing_names_are_prefixed(
    records: tuple[CountingLogger, Records],
) -> None:
    logger, handler = records
    StdlibBoundLogger(logger).bind(run_id="r1").warning("some.event", message="clash", count=3)
    (record,) = handler.records
    assert record.levelno == logging.WARNING
    assert (record.run_id, record.field_message, record.count) == ("r1", "clash", 3)  # type: ignore[attr-defined]
    assert record.flowstone_fields == ("run_id", "field_message", "count")  # type: ignore[attr-defined]
    assert record.getMessage() == "some.event run_id=r1 message=clash count=3"


def test_the_record_names_the_caller_not_the_logging_module(records: tuple[CountingLogger, Records]) -> None:
    logger, handler = records
    logger_proxy = get_logger("unused")
    logger_proxy._logger = StdlibBoundLogger(logger)  # the never-fatal proxy in front, as in the runtime
    logger_proxy.info("some.event")
    (record,) = handler.records
    assert record.pathname == __file__
    assert record.funcName == "test_the_record_names_the_caller_not_the_logging_module"


def test_exception_carries_the_traceback_and_stack_info_a_stack(
    records: tuple[CountingLogger, Records],
) -> None:
    logger, handler = records
    log = StdlibBoundLogger(logger)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it.failed")
    log.info("with.stack", stack_info=True)
    failed, stacked = handler.records
    assert failed.levelno == logging.ERROR
    assert failed.exc_info is not None
    assert failed.exc_info[0] is ValueError
    assert stacked.stack_info is not None
    assert stacked.stack_info.startswith("Stack (most recent call last)")
    assert "stack_info" not in stacked.flowstone_fields  # type: ignore[attr-defined]


def test_binding_copies_the_context(records: tuple[CountingLogger, Records]) -> None:
    logger, handler = records
    base = StdlibBoundLogger(logger).bind(a=1)
    base.bind(b=2).info("one")
    base.new(c=3).info("two")
    base.bind(b=2).unbind("a").info("three")
    base.try_unbind("missing").info("four")
    with pytest.raises(KeyError):
        base.unbind("missing")
    assert [r.flowstone_fields for r in handler.records] == [("a", "b"), ("c",), ("b",), ("a",)]  # type: ignore[attr-defined]


def test_log_takes_a_numeric_level(records: tuple[CountingLogger, Records]) -> None:
    logger, handler = records
    log = StdlibBoundLogger(logger)
    log.log(logging.DEBUG, "dropped")
    log.log(logging.ERROR, "kept", n=1)
    assert [r.getMessage() for r in handler.records] == ["kept n=1"]
    assert log.is_enabled_for(logging.INFO)
    assert not log.is_enabled_for(logging.DEBUG)


def test_a_failing_handler_or_filter_never_reaches_the_caller(
    records: tuple[CountingLogger, Records],
) -> None:
    logger, _handler = records

    def broken(_record: logging.LogRecord) -> bool:
        raise BrokenPipeError(32, "Broken pipe")

    logger.addFilter(broken)
    try:
        proxy = get_logger("unused")
        proxy._logger = StdlibBoundLogger(logger)
        assert proxy.info("some.event") is None
        assert proxy.log(logging.ERROR, "some.event") is None
        assert proxy.is_enabled_for(logging.INFO) is True
    finally:
        logger.removeFilter(broken)


def test_without_a_structlog_configuration_the_logger_is_stdlib(monkeypatch: pytest.MonkeyPatch) -> None:
    structlog = sys.modules["structlog"]
    monkeypatch.setattr(structlog, "is_configured", lambda: False)
    logger = build_logger("supervisors.test_stdlib_events")
    assert isinstance(logger, StdlibBoundLogger)
    monkeypatch.delitem(sys.modules, "structlog")  # never imported: it cannot be configured
    assert isinstance(build_logger("supervisors.test_stdlib_events"), StdlibBoundLogger)
