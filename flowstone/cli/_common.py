"""What every ``flowstone`` command shares: the database option, targets, exit codes,
one-line errors, and where output goes (results to stdout, logs to stderr)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from flowstone.errors import FlowStoneError

__all__ = [
    "DEFAULT_DATABASE_URL",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "configure_logging",
    "database_option",
    "fail",
    "load_target",
]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DEFAULT_DATABASE_URL = "sqlite:///.flowstone/flowstone.db"

F = TypeVar("F", bound=Callable[..., Any])


def database_option(function: F) -> F:
    """``--database-url``, falling back to ``FLOWSTONE_DATABASE_URL``, then the embedded file."""
    return click.option(
        "--database-url",
        envvar="FLOWSTONE_DATABASE_URL",
        default=DEFAULT_DATABASE_URL,
        show_default=True,
        help="sqlite:///path.db or postgresql+psycopg://user@host/db (env FLOWSTONE_DATABASE_URL).",
    )(function)


def configure_logging(verbose: bool, *, quiet_level: int = logging.CRITICAL) -> None:
    """Logs go to stderr, so that stdout carries only results (pure JSON with --json).

    Commands are quiet unless ``--verbose``: a failure is reported as one ``error:`` line,
    not also as the library's log events. A worker logs warnings by default.
    """
    level = logging.INFO if verbose else quiet_level
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
        ],
    )


def fail(message: str, *, code: int = EXIT_FAILURE) -> None:
    """Print one clear line to stderr and exit with ``code``."""
    raise click.exceptions.Exit(_echo_error(message, code))


def _echo_error(message: str, code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return code


def load_target(target: str) -> Any:
    """Import ``path/to/file.py:pipeline`` or ``package.module:pipeline``."""
    from flowstone._pipeline import Pipeline  # noqa: PLC0415

    location, sep, attribute = target.rpartition(":")
    if not sep or not location or not attribute:
        raise click.BadParameter(
            f"{target!r}: expected path/to/file.py:pipeline or package.module:pipeline", param_hint="TARGET"
        )
    if location.endswith(".py") or os.sep in location:
        path = Path(location)
        if not path.exists():
            raise click.BadParameter(f"{location}: no such file", param_hint="TARGET")
        sys.path.insert(0, str(path.resolve().parent))
        module_name = path.stem
        if module_name in sys.modules:
            module = sys.modules[module_name]
        else:
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module  # importable by name, so jobs can reference it
            spec.loader.exec_module(module)
    else:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(location)
        except ImportError as exc:
            raise click.BadParameter(f"cannot import {location!r}: {exc}", param_hint="TARGET") from exc
    value = getattr(module, attribute, None)
    if not isinstance(value, Pipeline):
        raise click.BadParameter(f"{location} has no Pipeline named {attribute!r}", param_hint="TARGET")
    return value


def run_guarded(action: Callable[[], int], debug: bool) -> int:
    """Run a command body: errors become one line on stderr (a traceback with --debug)."""
    try:
        return action()
    except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
        raise
    except FlowStoneError as exc:
        if debug:
            raise
        return _echo_error(f"{type(exc).__name__}: {exc}", EXIT_FAILURE)
    except Exception as exc:
        if debug:
            raise
        return _echo_error(
            f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", EXIT_FAILURE
        )


def guarded(ctx: click.Context, action: Callable[[], int]) -> None:
    """``run_guarded`` with the group's ``--debug``, exiting with the body's code."""
    debug = bool((ctx.find_root().obj or {}).get("debug"))
    ctx.exit(run_guarded(action, debug))
